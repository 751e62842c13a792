import CZlib

/// gzip through zlib. Reading detects gzip by its magic bytes (1f 8b), not by file name.
enum Gzip {
    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    enum Failure: Error, Equatable {
        case corrupt(String)
        case tooLarge
    }

    /// Inflates a whole gzip stream (every member), refusing to produce more than `limit`
    /// bytes (so a forged or malicious file cannot make us allocate gigabytes).
    static func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        var offset = 0
        let decoder = try GzipDecoder { buffer in
            let n = min(buffer.count, input.count - offset)
            input.withUnsafeBytes {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset ..< offset + n]))
            }
            offset += n
            return n
        }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try decoder.read(into: $0) }
            if n == 0 { return output }
            guard output.count + n <= limit else { throw Failure.tooLarge }
            output += chunk[..<n]
        }
    }

    /// Deflates into a gzip stream.
    static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard
            deflateInit2_(
                &stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else {
            return []
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
        let written: Int = input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                _ = deflate(&stream, Z_FINISH)
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output[0 ..< written])
    }
}

/// Inflates gzip data as it is read, a buffer at a time, so a caller can look at the first
/// bytes (an IDX header) before deciding how much more to take. Reads every member of a
/// multi-member stream (what pigz and `cat a.gz b.gz` produce), as gunzip does; bytes after
/// the last member that do not start another one are an error.
final class GzipDecoder {
    /// Fills the buffer with compressed bytes; returns how many (0 at the end of the input).
    typealias Refill = (UnsafeMutableRawBufferPointer) throws -> Int

    // zlib keeps a pointer back to its z_stream and checks it on every call: the stream
    // lives at one address for its whole life, as does the input buffer it points into.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
    private let refill: Refill
    /// Between members: the last one ended and no byte of another has been inflated yet.
    private var betweenMembers = false
    private var finished = false
    /// Compressed bytes consumed so far, and where the last complete member ended (for messages).
    private var consumed = 0
    private var memberEnd = 0

    init(refill: @escaping Refill) throws {
        self.refill = refill
        stream.initialize(to: z_stream())
        // 15 + 16: gzip wrapper only.
        guard inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            input.deallocate()
            throw Gzip.Failure.corrupt("cannot initialise zlib")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    /// Fills `output` with up to `output.count` decompressed bytes; returns how many, fewer
    /// only at the end of the data (0 once it has ended).
    func read(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        var produced = 0
        while produced < output.count && !finished {
            if stream.pointee.avail_in == 0 {
                let n = try refill(input)
                if n == 0 {
                    // The input may end between members, not inside one.
                    guard betweenMembers else {
                        throw Gzip.Failure.corrupt("unexpected end of data")
                    }
                    finished = true
                    break
                }
                stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_in = UInt32(n)
            }
            if betweenMembers {
                guard inflateReset(stream) == Z_OK else { throw Gzip.Failure.corrupt("cannot reset zlib") }
            }
            let availableIn = Int(stream.pointee.avail_in)
            stream.pointee.next_out = (output.baseAddress! + produced).assumingMemoryBound(to: UInt8.self)
            stream.pointee.avail_out = UInt32(output.count - produced)
            let status = inflate(stream, Z_NO_FLUSH)
            produced = output.count - Int(stream.pointee.avail_out)
            consumed += availableIn - Int(stream.pointee.avail_in)
            switch status {
            case Z_STREAM_END:
                betweenMembers = true
                memberEnd = consumed
            case Z_OK,
                Z_BUF_ERROR where stream.pointee.avail_in == 0:
                // Z_BUF_ERROR: no progress without more input, which the next turn reads.
                betweenMembers = false
            default:
                if betweenMembers {
                    throw Gzip.Failure.corrupt(
                        "the bytes after the gzip data (from byte \(memberEnd)) are not another gzip member")
                }
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                throw Gzip.Failure.corrupt(reason)
            }
        }
        return produced
    }
}
