import CZlib

/// gzip through zlib. Reading detects gzip by its magic bytes (1f 8b), not by file name.
enum Gzip {
    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    enum Failure: Error {
        case corrupt(String)
        case tooLarge
    }

    /// Inflates a gzip stream, refusing to produce more than `limit` bytes (so a forged
    /// or malicious file cannot make us allocate gigabytes).
    static func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: gzip wrapper only.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure.corrupt("cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        output.reserveCapacity(min(limit, max(1 << 16, input.count * 4)))
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { inBuffer in
            stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.avail_in = UInt32(inBuffer.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw Failure.corrupt(status == Z_BUF_ERROR ? "unexpected end of data" : reason)
                }
                guard output.count + produced <= limit else { throw Failure.tooLarge }
                output.append(contentsOf: chunk[0 ..< produced])
                if status == Z_OK && produced == 0 && stream.avail_in == 0 {
                    throw Failure.corrupt("unexpected end of data")
                }
            } while status != Z_STREAM_END
        }
        return output
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
