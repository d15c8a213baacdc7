// @cairn/core: what more than one Cairn package needs: the error base and the serializer seam.
export {
  CairnError,
  ValidationError,
  SerializationError,
  parseInput,
  toValidationIssues,
  type CairnErrorOptions,
  type ErrorDetails,
  type ValidationIssue,
} from './errors.js';
export { JsonSerializer, type Serializer } from './serializer.js';
