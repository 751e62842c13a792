import CPNGReader

/// PNG decoding by libpng (through CPNGReader, which keeps libpng's longjmp in C).
extension PNG {
    /// The eight bytes every PNG starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The most pixels a decoded PNG may have (8192 x 8192): a header declaring more is
    /// refused before its pixels are allocated.
    public static let maximumPixels = 1 << 26

    public static func isPNG(_ bytes: [UInt8]) -> Bool { bytes.starts(with: signature) }

    /// The width and height the IHDR chunk declares (it comes first, right after the
    /// signature), or nil if it is not there; nothing is decoded.
    public static func declaredSize(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        guard isPNG(bytes), bytes.count >= 24, bytes[8 ..< 16].elementsEqual([0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
        else { return nil }
        func field(_ at: Int) -> Int { bytes[at ..< at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (field(16), field(20))
    }

    /// Decodes 8- or 16-bit grey, grey + alpha, RGB, RGBA or palette PNG (palettes and
    /// transparency become RGB(A)); `name` names the bytes in errors. `accept` sees the
    /// size the header declares before anything is decoded, and throws to refuse it.
    public static func decode(
        _ bytes: [UInt8], name: String, maximumPixels: Int = maximumPixels,
        accept: (_ width: Int, _ height: Int) throws -> Void = { _, _ in }
    ) throws -> DecodedImage {
        guard isPNG(bytes) else { throw ImageReadError(name, "not a PNG file (no PNG signature)") }
        if let size = declaredSize(bytes) { try accept(size.width, size.height) }
        var image = stn_png_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { input in
            message.withUnsafeMutableBufferPointer {
                stn_png_decode(
                    input.baseAddress, input.count, UInt64(maximumPixels), &image, $0.baseAddress, $0.count)
            }
        }
        guard status == 0 else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImageReadError(name, "corrupt or unsupported PNG: \(reason)")
        }
        defer { stn_png_free(&image) }
        let width = Int(image.width)
        let height = Int(image.height)
        let channels = Int(image.channels)
        let count = width * height * channels
        var samples = [UInt16](repeating: 0, count: count)
        if image.bit_depth == 16 {
            let source = image.samples.assumingMemoryBound(to: UInt16.self)
            for i in 0 ..< count { samples[i] = source[i] }
        } else {
            let source = image.samples.assumingMemoryBound(to: UInt8.self)
            for i in 0 ..< count { samples[i] = UInt16(source[i]) }
        }
        return DecodedImage(
            width: width, height: height, channels: channels, maximum: image.bit_depth == 16 ? 65535 : 255,
            samples: samples)
    }
}
