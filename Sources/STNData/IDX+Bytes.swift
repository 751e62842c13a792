/// IDX from bytes already in memory (a download, a fuzzer's input), raw or gzip like the
/// files: the same checks as `IDX.readImages(at:)`, with `name` standing for the path in
/// error messages.
extension IDX {
    public static func readImages(bytes: [UInt8], name: String = "<bytes>") throws -> IDXImages {
        let (dims, _, payload) = try decode(bytes, path: name, dimensions: 3)
        return IDXImages(count: dims[0], rows: dims[1], columns: dims[2], pixels: payload)
    }

    public static func readLabels(bytes: [UInt8], name: String = "<bytes>") throws -> [UInt8] {
        try decode(bytes, path: name, dimensions: 1).payload
    }
}
