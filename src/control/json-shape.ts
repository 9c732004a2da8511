/**
 * @module control/json-shape
 * Checks that a value read from JSON has the shape a reply needs, field by field, and says where
 * it does not: every failure is a PortsnareError with ErrorCodes.PROTOCOL naming the field path.
 */
import { ErrorCodes, PortsnareError } from '../errors.ts';

export type JsonObject = Readonly<Record<string, unknown>>;

export function shapeError(path: string, expected: string): PortsnareError {
  return new PortsnareError(
    ErrorCodes.PROTOCOL,
    `the daemon's reply is malformed: ${path} is not ${expected}`,
  );
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function object(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw shapeError(path, 'an object');
  return value;
}

export function string(value: unknown, path: string): string {
  if (typeof value !== 'string') throw shapeError(path, 'a string');
  return value;
}

export function number(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw shapeError(path, 'a number');
  return value;
}

export function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw shapeError(path, 'true or false');
  return value;
}

export function nullable<T>(read: (value: unknown, path: string) => T) {
  return (value: unknown, path: string): T | null => (value === null ? null : read(value, path));
}

export function arrayOf<T>(read: (value: unknown, path: string) => T) {
  return (value: unknown, path: string): T[] => {
    if (!Array.isArray(value)) throw shapeError(path, 'an array');
    return value.map((item: unknown, i) => read(item, `${path}[${i}]`));
  };
}

export function recordOf<T>(read: (value: unknown, path: string) => T) {
  return (value: unknown, path: string): Record<string, T> => {
    const o = object(value, path);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, read(v, `${path}.${k}`)]));
  };
}
