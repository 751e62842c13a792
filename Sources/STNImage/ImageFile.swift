import STNSystem

/// Image files people have: PNG (by libpng) and binary PGM, told apart by their first bytes.
public enum ImageFile {
    /// The largest image file read (bytes); a larger one is refused without being loaded.
    public static let maximumBytes = 1 << 28

    /// Whether `bytes` start like a file `read` decodes (PNG, or any Netpbm P1-P6 header,
    /// which it reads or refuses by name).
    public static func recognises(_ bytes: [UInt8]) -> Bool {
        PNG.isPNG(bytes) || (bytes.count >= 2 && bytes[0] == 0x50 && (0x31 ... 0x36).contains(bytes[1]))
    }

    /// Reads and decodes the PNG or PGM at `path`. `accept` sees the size the header
    /// declares before anything is decoded, and throws to refuse it (a 42x42 model need not
    /// pay for decoding an 8192x8192 image to refuse it).
    public static func read(_ path: String, accept: (_ width: Int, _ height: Int) throws -> Void = { _, _ in })
        throws -> DecodedImage
    {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path, limit: maximumBytes)
        } catch let error as FileError {
            throw ImageReadError(path, error.reason)
        }
        return try decode(bytes, name: path, accept: accept)
    }

    /// Decodes PNG or PGM bytes; `name` names them in errors; `accept` as for `read`.
    public static func decode(
        _ bytes: [UInt8], name: String, accept: (_ width: Int, _ height: Int) throws -> Void = { _, _ in }
    ) throws -> DecodedImage {
        if bytes.isEmpty { throw ImageReadError(name, "empty file") }
        if PNG.isPNG(bytes) { return try PNG.decode(bytes, name: name, accept: accept) }
        if recognises(bytes) { return try PGM.decode(bytes, name: name, accept: accept) }
        throw ImageReadError(name, "not a PNG or PGM (P5) image")
    }
}
