// Maps the typed errors of the Cairn packages to HTTP answers. Every Cairn error carries a category
// (invalid input, not found, conflict, unavailable, closed, internal): the status follows it, and
// the body repeats the stable code for clients. Never branches on message text.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { CairnError, ValidationError, formatIssues, type ErrorCategory } from '@cairn/cairn';

/** The JSON body of every error answer. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  issues?: readonly { path: string; message: string }[];
}

/** An error raised by the demo's own routes, with its HTTP status. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A 404 for a missing resource. */
export function notFound(what: string, id: string): HttpError {
  return new HttpError(404, 'NOT_FOUND', `${what} ${JSON.stringify(id)} does not exist`);
}

/** The HTTP status of each kind of Cairn failure: the mapping follows categories, never lists of codes. */
const STATUS_BY_CATEGORY: Readonly<Record<ErrorCategory, number>> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  closed: 503,
  internal: 500,
};

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

function body(statusCode: number, code: string, message: string, issues?: ErrorBody['issues']): ErrorBody {
  return { statusCode, code, error: REASONS[statusCode] ?? 'Error', message, ...(issues ? { issues } : {}) };
}

/** Turns any thrown value into an ErrorBody (and logs the unexpected ones). */
export function toErrorBody(error: unknown, request?: FastifyRequest): ErrorBody {
  if (error instanceof HttpError) return body(error.statusCode, error.code, error.message);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({ path: v.instancePath.replace(/^\//, '').replaceAll('/', '.'), message: v.message ?? 'invalid' }));
    const where = error.validationContext ?? 'request';
    return body(400, 'VALIDATION_FAILED', `Invalid ${where}: ${formatIssues(issues)}`, issues);
  }
  if (error instanceof ValidationError) return body(400, error.code, error.message, error.issues);
  if (error instanceof Error && error.name === 'AbortError') {
    return body(503, 'RUN_ABORTED', 'The run was stopped (the client went away or the server is shutting down); its finished steps are checkpointed: resume it');
  }
  if (isResponseSerializationError(error)) {
    request?.log.error({ err: error }, 'response did not match its schema');
    return body(500, 'RESPONSE_INVALID', 'The server produced an invalid response');
  }
  if (error instanceof CairnError) {
    const status = STATUS_BY_CATEGORY[error.category];
    if (status >= 500) request?.log.error({ err: error }, 'request failed');
    return body(status, error.code, error.message);
  }
  // The demo's own errors (workflow, model) carry their status beside an upper-case code.
  const own = error as Error & { code?: unknown; statusCode?: unknown };
  if (error instanceof Error && typeof own.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(own.code) && typeof own.statusCode === 'number') {
    if (own.statusCode >= 500) request?.log.error({ err: error }, 'request failed');
    return body(own.statusCode, own.code, error.message);
  }
  const fastifyError = error as Partial<FastifyError>;
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    return body(fastifyError.statusCode, fastifyError.code ?? 'BAD_REQUEST', fastifyError.message ?? 'Bad request');
  }
  request?.log.error({ err: error }, 'request failed');
  return body(500, 'INTERNAL', 'Internal server error');
}

/** Fastify error handler built on toErrorBody. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const payload = toErrorBody(error, request);
  void reply.status(payload.statusCode).send(payload);
}
