/// Why an IDX file could not be read or written. The description is one line naming the
/// file and the problem.
public struct IDXError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Equatable, Sendable {
        case unreadable(String)
        case corruptGzip(String)
        case tooShort(bytes: Int)
        case badMagic(UInt8, UInt8)
        case badType(UInt8)
        /// An images file's type is neither unsigned bytes nor float32.
        case badImageType(UInt8)
        /// A float32 image holds NaN or an infinity (`value`) at this place.
        case nonFinite(image: Int, row: Int, column: Int, channel: Int, value: String)
        case wrongDimensions(found: Int, expected: Int)
        case zeroCount
        case truncated(expected: Int, found: Int)
        /// A stream whose header's count is 0 (images to the end) ended inside image `index`
        /// (from 0) after `found` of its `imageBytes` bytes.
        case cutInsideImage(index: Int, found: Int, imageBytes: Int)
        case trailingBytes(expected: Int, found: Int)
        /// More than `IDX.trailingCountLimit` bytes follow the payload (not all counted).
        case excessData(expected: Int)
        /// A stream went on after the images its header declares.
        case moreThanDeclared(images: Int)
        case tooLarge(dimensions: [Int])
        case wrongImageSize(rows: Int, columns: Int, expected: String)
        case countMismatch(images: Int, labels: Int)
        case badLabel(index: Int, value: UInt8)
        /// A label at or above the model's class count.
        case labelOutOfRange(index: Int, value: UInt8, classes: Int)
        case unwritable(String)
    }

    public let path: String
    public let kind: Kind

    public init(_ path: String, _ kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// A float32 image's NaN or infinity at `sample` of image `image` (of `layout`).
    static func nonFinite(_ path: String, image: Int, sample: Int, value: Float, layout: ImageLayout) -> IDXError {
        let pixel = sample / layout.channels
        return IDXError(
            path,
            .nonFinite(
                image: image, row: pixel / layout.columns, column: pixel % layout.columns,
                channel: sample % layout.channels, value: value.isNaN ? "NaN" : "\(value)"))
    }

    public var description: String {
        let problem: String
        switch kind {
        case .unreadable(let reason): problem = "cannot read file: \(reason)"
        case .corruptGzip(let reason): problem = "corrupt gzip data: \(reason)"
        case .tooShort(let n): problem = "too short for an IDX header (\(n) bytes)"
        case .badMagic(let a, let b): problem = "not an IDX file: magic starts \(hex(a)) \(hex(b)), expected 00 00"
        case .badType(let t): problem = "unsupported IDX element type \(hex(t)), expected 08 (unsigned byte)"
        case .badImageType(let t):
            problem = "unsupported IDX element type \(hex(t)), expected 08 (unsigned byte) or 0d (float32)"
        case .nonFinite(let image, let row, let column, let channel, let value):
            problem =
                "image \(image) holds \(value) at row \(row), column \(column), channel \(channel) (float32 images must be finite)"
        case .wrongDimensions(let found, let expected):
            problem =
                "IDX file has \(found) dimension\(found == 1 ? "" : "s"), expected \(expected) (\(expected == 1 ? "labels" : "images"))"
        case .zeroCount: problem = "IDX header declares zero items"
        case .truncated(let expected, let found):
            problem = "truncated: header declares \(expected) data bytes but only \(found) follow"
        case .cutInsideImage(let index, let found, let imageBytes):
            problem =
                "truncated inside image \(index): \(found) of its \(imageBytes) bytes arrived, \(index * imageBytes + found) data bytes in all (the header's count of 0 reads whole images to the end)"
        case .trailingBytes(let expected, let found):
            problem =
                "\(found - expected) unexpected trailing bytes after the \(expected) data bytes the header declares"
        case .excessData(let expected):
            problem =
                "more than \(IDX.trailingCountLimit) unexpected trailing bytes after the \(expected) data bytes the header declares"
        case .moreThanDeclared(let images):
            problem = "more data after the \(images) images the header declares (a count of 0 reads to the end)"
        case .tooLarge(let dims):
            problem =
                "IDX header declares an absurd size \(dims.map(String.init).joined(separator: " x ")) (more than \(IDX.maximumBytes) bytes)"
        case .wrongImageSize(let r, let c, let expected): problem = "images are \(r)x\(c), expected \(expected)"
        case .countMismatch(let i, let l): problem = "\(l) labels for \(i) images (one label per image)"
        case .badLabel(let index, let value): problem = "label \(value) at index \(index) is not a digit 0-9"
        case .labelOutOfRange(let index, let value, let classes):
            problem = "label \(value) at index \(index) is not one of the model's \(classes) classes (0-\(classes - 1))"
        case .unwritable(let reason): problem = "cannot write file: \(reason)"
        }
        return "\(path): \(problem)"
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
