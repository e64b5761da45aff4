// What the provider forms say about linking with a code (the device flow), said once.

/** What the checkbox does. */
export const DEVICE_FLOW_HINT =
  'Offers “Use a code instead” when linking: you enter a code on any device, for machines without a browser. The provider must support it.';

/** Why it is off by default: a code can be relayed to a victim who approves it (RFC 8628 section 5.4). */
export const DEVICE_FLOW_WARNING =
  'A code can be passed on to someone else, who may approve it without knowing what for (phishing). Turn this on only where you need it.';
