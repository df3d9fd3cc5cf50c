/**
 * Splits a TCP byte stream into DNS messages (RFC 1035 4.2.2: each one prefixed by a 16-bit
 * length), whether a message arrives in several chunks or several messages arrive in one. The
 * prefix caps a message at 65535 octets, so nothing here can grow without bound.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** Add a chunk and return every message it completes, in order. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    while (this.#buffered >= 2) {
      // Join chunks only once a whole message is there, so a reply trickling in byte by byte
      // is not copied over and over.
      const length = this.#peekLength();
      if (this.#buffered < 2 + length) break;
      const data = this.#flatten();
      frames.push(Buffer.from(data.subarray(2, 2 + length)));
      const rest = data.subarray(2 + length);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
    }
    return frames;
  }

  #peekLength(): number {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= 2) return first.readUInt16BE(0);
    return this.#flatten().readUInt16BE(0);
  }

  #flatten(): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] as Buffer;
  }
}
