/// IDX from bytes already in memory (a download, a fuzzer's input), raw or gzip like the
/// files: the same checks as `IDX.readImages(at:)`, with `name` standing for the path in
/// error messages.
extension IDX {
    public static func readImages(bytes: [UInt8], name: String = "<bytes>") throws -> IDXImages {
        let (dims, payload) = try decode(bytes, path: name, dimensions: 3)
        return IDXImages(count: dims[0], rows: dims[1], columns: dims[2], pixels: payload)
    }

    public static func readLabels(bytes: [UInt8], name: String = "<bytes>") throws -> [UInt8] {
        try decode(bytes, path: name, dimensions: 1).payload
    }

    /// What `read` does after loading the file: inflate if gzip, then parse.
    static func decode(_ bytes: [UInt8], path: String, dimensions: Int) throws -> (dims: [Int], payload: [UInt8]) {
        var bytes = bytes
        if Gzip.isGzip(bytes) {
            do {
                bytes = try Gzip.decompress(bytes, limit: maximumBytes + 64)
            } catch Gzip.Failure.tooLarge {
                throw IDXError(path, .tooLarge(dimensions: []))
            } catch Gzip.Failure.corrupt(let reason) {
                throw IDXError(path, .corruptGzip(reason))
            }
        }
        return try parse(bytes, path: path, dimensions: dimensions)
    }
}
