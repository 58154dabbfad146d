/**
 * Money, exactly: amounts are integers of the currency's minor unit (cents for USD, yen for
 * JPY, fils for BHD), parsed from and written as decimal strings. Never a float.
 */

const CURRENCY = /^[A-Z]{3}$/;

/**
 * ISO 4217's minor units where they are not 2. Not ICU's (`Intl.NumberFormat`): its digits are
 * CLDR's display conventions, which show 16 currencies without their 2 (HUF, IDR, COP...) and
 * IQD without its 3, and it loads about 4 MiB of locale data into every process that asks.
 */
const MINOR_DIGITS = new Map<string, number>([
  ...['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'].map((code) => [code, 0] as const),
  ...['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'].map((code) => [code, 3] as const),
]);

/** Digits after the decimal point of an ISO 4217 currency Node.js knows; null for an unknown code. */
export function minorDigits(currency: string): number | null {
  if (!CURRENCY.test(currency) || !Intl.supportedValuesOf('currency').includes(currency)) return null;
  return MINOR_DIGITS.get(currency) ?? 2;
}

/** `"12.5"` in a currency of 2 digits is 1250; null when it is not a non-negative decimal with at most `digits` decimals. */
export function parseAmount(text: string, digits: number): number | null {
  const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return null;
  return Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

/** 1250 in a currency of 2 digits is `"12.50"`. */
export function formatAmount(minor: number, digits: number): string {
  const text = String(minor).padStart(digits + 1, '0');
  return digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}
