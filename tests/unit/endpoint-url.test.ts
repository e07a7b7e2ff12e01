import { type AppError, checkEndpointUrl } from '@agent-messaging/core';
import { describe, expect, it } from 'vitest';

const refused = (url: string, allowPrivate = false) => {
  try {
    checkEndpointUrl(url, allowPrivate);
    return null;
  } catch (error) {
    return (error as AppError).code;
  }
};

describe('checkEndpointUrl', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://localhost:8080/hook',
    'http://10.1.2.3/hook',
    'http://172.16.0.9/hook',
    'http://192.168.1.1/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/hook',
    'http://[fd00::1]/hook',
    'http://[fe80::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://0.0.0.0/hook',
    'http://100.64.0.1/hook',
    'http://metadata.google.internal/computeMetadata',
    'http://printer.local/hook',
    'http://intranet/hook',
    // Every IPv4 spelling of loopback that URL parsing accepts: decimal, octal, hex, short forms.
    'http://2130706433/hook',
    'http://017700000001/hook',
    'http://0x7f000001/hook',
    'http://0x7f.0.0.1/hook',
    'http://0177.0.0.01/hook',
    'http://127.1/hook',
    'http://127.0.1/hook',
    'http://0/hook',
    // IPv6 forms: loopback spelled out, unique-local, link-local, IPv4-mapped (hex too),
    // IPv4-compatible, NAT64 and 6to4 wrapping a private address, the unspecified address.
    'http://[0:0:0:0:0:0:0:1]/hook',
    'http://[fc00::7]/hook',
    'http://[::ffff:7f00:1]/hook',
    'http://[::ffff:10.0.0.1]/hook',
    'http://[::127.0.0.1]/hook',
    'http://[64:ff9b::a00:1]/hook',
    'http://[2002:a00:1::]/hook',
    'http://[::]/hook',
    // Names that resolve inside: *.localhost, metadata services.
    'http://api.localhost/hook',
    'http://LOCALHOST./hook',
    'http://metadata/computeMetadata/v1',
    'http://169.254.170.2/v2/credentials',
    'http://[fd00:ec2::254]/latest/meta-data',
  ])('refuses %s unless private endpoints are allowed', (url) => {
    expect(refused(url)).toBe('endpoint_not_allowed');
    expect(refused(url, true)).toBeNull();
  });

  it.each(['https://agents.example.com/hook', 'http://93.184.216.34/x', 'https://[2606:4700::1111]/x'])(
    'accepts the public %s',
    (url) => {
      expect(refused(url)).toBeNull();
    },
  );

  it.each([
    'ftp://example.com/x',
    'file:///etc/passwd',
    'gopher://example.com/x',
    'javascript:alert(1)',
    // A zone id is not valid in a URL.
    'http://[fe80::1%25eth0]/hook',
    'data:text/plain,hi',
    'https://user:pw@example.com/x',
    // userinfo tricks: the host is what follows the last @, and credentials are refused anyway.
    'https://agents.example.com@127.0.0.1/x',
    'https://agents.example.com:x@evil.example/x',
    'not a url',
  ])('always refuses %s', (url) => {
    expect(refused(url, true)).toBe('endpoint_not_allowed');
  });
});
