import ipaddr from 'ipaddr.js';
import { AppError } from './errors';

const blockedHostnames = [/^localhost$/i, /\.localhost$/i, /\.local$/i, /\.internal$/i, /^metadata$/i];

const globalUnicast = ipaddr.parseCIDR('2000::/3');

function refuse(detail: string): AppError {
  return new AppError(400, 'endpoint_not_allowed', detail);
}

/**
 * Endpoint URLs are where the dispatcher POSTs, so they must not point into our own network
 * (SSRF): http(s) only, no credentials, and no private, loopback, link-local or metadata address
 * unless the deployment allows private endpoints (the local stack and tests do).
 */
export function checkEndpointUrl(raw: string, allowPrivate: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('endpointUrl is not a valid URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw refuse('endpointUrl must be http or https.');
  if (url.username || url.password) throw refuse('endpointUrl must not carry credentials.');
  if (allowPrivate) return url.toString();

  // The URL parser has already turned every IPv4 spelling (decimal, octal, hex, short) into
  // dotted decimal; a trailing dot names the same host.
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (ipaddr.isValid(host)) {
    let address = ipaddr.parse(host);
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
      address = (address as ipaddr.IPv6).toIPv4Address();
    }
    if (address.range() !== 'unicast') throw refuse(`endpointUrl points at a ${address.range()} address.`);
    // Public IPv6 is global unicast (2000::/3) only; the rest (IPv4-compatible ::a.b.c.d, say) is not.
    if (address.kind() === 'ipv6' && !address.match(globalUnicast)) {
      throw refuse('endpointUrl points at a non-global IPv6 address.');
    }
  } else if (blockedHostnames.some((pattern) => pattern.test(host)) || !host.includes('.')) {
    throw refuse('endpointUrl must be a public host name.');
  }
  return url.toString();
}
