/// Binary PGM (Netpbm P5): "P5", width, height and maxval as decimal text separated by
/// white space (with # comments), one white-space byte, then the samples: one byte each for
/// maxval < 256, two (big-endian) up to 65535.
public enum PGM {
    /// The most pixels a PGM may declare, as for PNG.
    public static let maximumPixels = PNG.maximumPixels

    public static func isPGM(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x50 && bytes[1] == 0x35 }

    /// Decodes one binary PGM image; `name` names the bytes in errors. `accept` sees the
    /// size the header declares before the samples are read, and throws to refuse it.
    public static func decode(
        _ bytes: [UInt8], name: String, maximumPixels: Int = maximumPixels,
        accept: (_ width: Int, _ height: Int) throws -> Void = { _, _ in }
    ) throws -> DecodedImage {
        func fail(_ problem: String) -> ImageReadError { ImageReadError(name, problem) }
        if bytes.count >= 2 && bytes[0] == 0x50 && (0x31 ... 0x36).contains(bytes[1]) && bytes[1] != 0x35 {
            throw fail("a Netpbm P\(bytes[1] - 0x30) file; only binary greyscale PGM (P5) is read")
        }
        guard isPGM(bytes) else { throw fail("not a PGM file (does not start with P5)") }
        var offset = 2
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09 ... 0x0D).contains(b) }
        /// The next decimal field after white space and comments.
        func field(_ what: String) throws -> Int {
            while offset < bytes.count {
                if isSpace(bytes[offset]) {
                    offset += 1
                } else if bytes[offset] == 0x23 {  // '#': a comment to the end of the line
                    while offset < bytes.count && bytes[offset] != 0x0A && bytes[offset] != 0x0D { offset += 1 }
                } else {
                    break
                }
            }
            var value = 0
            var digits = 0
            while offset < bytes.count, (0x30 ... 0x39).contains(bytes[offset]) {
                value = value * 10 + Int(bytes[offset] - 0x30)
                digits += 1
                offset += 1
                guard digits <= 9 else { throw fail("PGM header: \(what) has too many digits") }
            }
            guard digits > 0 else {
                throw fail(
                    offset >= bytes.count ? "truncated PGM header (no \(what))" : "PGM header: \(what) is not a number")
            }
            return value
        }
        let width = try field("width")
        let height = try field("height")
        let maximum = try field("maxval")
        guard width > 0, height > 0 else { throw fail("PGM image has zero size (\(width)x\(height))") }
        try accept(width, height)
        guard width * height <= maximumPixels else {
            throw fail("PGM header declares an absurd size \(width)x\(height) (more than \(maximumPixels) pixels)")
        }
        guard (1 ... 65535).contains(maximum) else { throw fail("PGM maxval \(maximum) is not between 1 and 65535") }
        guard offset < bytes.count, isSpace(bytes[offset]) else {
            throw fail("truncated PGM header (no white space after maxval)")
        }
        offset += 1
        let bytesPerSample = maximum < 256 ? 1 : 2
        let expected = width * height * bytesPerSample
        let available = bytes.count - offset
        guard available >= expected else {
            throw fail("truncated: \(width)x\(height) pixels need \(expected) bytes, \(available) follow the header")
        }
        guard available == expected else {
            throw fail("\(available - expected) unexpected bytes after the \(width)x\(height) image")
        }
        var samples = [UInt16](repeating: 0, count: width * height)
        for i in samples.indices {
            let v =
                bytesPerSample == 1
                ? UInt16(bytes[offset + i]) : UInt16(bytes[offset + 2 * i]) << 8 | UInt16(bytes[offset + 2 * i + 1])
            guard Int(v) <= maximum else {
                throw fail("pixel \(i % width),\(i / width) is \(v), above the header's maxval \(maximum)")
            }
            samples[i] = v
        }
        return DecodedImage(width: width, height: height, channels: 1, maximum: maximum, samples: samples)
    }

    /// One binary PGM of 8-bit grey pixels.
    public static func encode(width: Int, height: Int, gray: [UInt8]) -> [UInt8] {
        precondition(gray.count == width * height, "gray buffer does not match the size")
        return Array("P5\n\(width) \(height)\n255\n".utf8) + gray
    }
}
