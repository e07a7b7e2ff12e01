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

  it.each(['ftp://example.com/x', 'file:///etc/passwd', 'https://user:pw@example.com/x', 'not a url'])(
    'always refuses %s',
    (url) => {
      expect(refused(url, true)).toBe('endpoint_not_allowed');
    },
  );
});
