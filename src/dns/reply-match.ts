import { DnsMalformedError } from './errors.ts';
import { HEADER_LENGTH, readHeader, readQuestions, sameLabels } from './wire-reader.ts';
import type { QuestionEntry } from './wire-reader.ts';

/** What a reply must echo to be taken as the answer to a request. */
export interface RequestFingerprint {
  id: number;
  opcode: number;
  questions: QuestionEntry[];
}

/** Why a reply was not accepted, for logs and tests. */
export type DropReason = 'short' | 'malformed' | 'id' | 'not-response' | 'opcode' | 'question';

/** A reply is accepted (and may still be truncated) or dropped for a reason. */
export type ReplyVerdict = { accept: true; truncated: boolean } | { accept: false; reason: DropReason };

/**
 * Take from a request what its reply must match: ID, opcode and the question (zone) section.
 * @throws DnsMalformedError when the request itself cannot be parsed.
 */
export function fingerprintRequest(request: Buffer): RequestFingerprint {
  const header = readHeader(request);
  const { questions } = readQuestions(request, HEADER_LENGTH, header.qdcount);
  return { id: header.id, opcode: header.opcode, questions };
}

/**
 * Judge a reply against its request. Off-path spoofing needs the 16-bit ID and the exact
 * question; a reply that gets either wrong, is not a response, or cannot be parsed is dropped
 * rather than failing the exchange, so a forged packet cannot cut a genuine answer short.
 */
export function matchReply(reply: Buffer, request: RequestFingerprint): ReplyVerdict {
  if (reply.length < HEADER_LENGTH) return { accept: false, reason: 'short' };
  const header = readHeader(reply);
  if (header.id !== request.id) return { accept: false, reason: 'id' };
  if (!header.qr) return { accept: false, reason: 'not-response' };
  if (header.opcode !== request.opcode) return { accept: false, reason: 'opcode' };
  if (header.qdcount !== request.questions.length) return { accept: false, reason: 'question' };
  let questions: QuestionEntry[];
  try {
    questions = readQuestions(reply, HEADER_LENGTH, header.qdcount).questions;
  } catch (err) {
    if (err instanceof DnsMalformedError) return { accept: false, reason: 'malformed' };
    throw err;
  }
  for (let i = 0; i < questions.length; i++) {
    const got = questions[i] as QuestionEntry;
    const want = request.questions[i] as QuestionEntry;
    if (got.type !== want.type || got.class !== want.class || !sameLabels(got.labels, want.labels)) {
      return { accept: false, reason: 'question' };
    }
  }
  return { accept: true, truncated: header.tc };
}
