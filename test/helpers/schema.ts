/** The snapshot's JSON Schema (schema/snapshot.schema.json) compiled once per call, strict, for tests of real output. */
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { packageRoot } from '../../lib/version.js';
import { readJsonFile } from './json.js';

/** A validator of `mosaic-top/snapshot@1` documents; its `errors` say what failed. */
export function snapshotValidator(): ValidateFunction {
  const schema = readJsonFile<object>(path.join(packageRoot(), 'schema', 'snapshot.schema.json'));
  return new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, validateFormats: false }).compile(schema);
}
