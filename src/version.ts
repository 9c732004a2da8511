/**
 * @module version
 * The product version, and the PortSentry version whose texts and formats we reproduce.
 */
export const PORTSNARE_VERSION = '0.1.0';
export const PORTSENTRY_COMPAT_VERSION = '1.2';
