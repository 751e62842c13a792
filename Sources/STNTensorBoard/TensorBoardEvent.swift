import STNImage

/// An image for TensorBoard's image dashboard: its size, colour space and PNG bytes.
public struct SummaryImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// 1 for grey, 3 for RGB (TensorBoard's `Summary.Image.colorspace`).
    public var colorspace: Int
    public var png: [UInt8]

    public init(width: Int, height: Int, colorspace: Int, png: [UInt8]) {
        self.width = width
        self.height = height
        self.colorspace = colorspace
        self.png = png
    }

    /// Grey pixels, row by row, one byte each.
    public static func gray(width: Int, height: Int, pixels: [UInt8]) -> SummaryImage {
        SummaryImage(
            width: width, height: height, colorspace: 1, png: PNG.encode(width: width, height: height, gray: pixels))
    }

    /// RGB pixels, row by row, three bytes each.
    public static func rgb(width: Int, height: Int, pixels: [UInt8]) -> SummaryImage {
        SummaryImage(
            width: width, height: height, colorspace: 3, png: PNG.encode(width: width, height: height, rgb: pixels))
    }
}

/// One tagged value of a summary.
public enum SummaryValue: Sendable, Equatable {
    case scalar(tag: String, value: Float)
    case image(tag: String, image: SummaryImage)
}

/// TensorBoard's `Event` message (tensorboard/compat/proto/event.proto) and the `Summary`
/// inside it (summary.proto), encoded by hand. Field numbers:
///   Event: wall_time 1 (double), step 2 (int64), file_version 3 (string), summary 5;
///   Summary: value 1 (repeated);
///   Summary.Value: tag 1, simple_value 2 (float), image 4;
///   Summary.Image: height 1, width 2, colorspace 3 (int32), encoded_image_string 4 (bytes).
public enum TensorBoardEvent {
    /// The version every event file starts with.
    public static let fileVersion = "brain.Event:2"

    /// The first event of a file: wall time and the file version (step 0, not written).
    public static func fileVersionEvent(wallTime: Double) -> [UInt8] {
        var event = ProtobufMessage()
        event.double(1, wallTime)
        event.string(3, fileVersion)
        return event.bytes
    }

    /// An event holding one summary with `values`, at `step`.
    public static func summaryEvent(wallTime: Double, step: Int, values: [SummaryValue]) -> [UInt8] {
        var summary = ProtobufMessage()
        for value in values {
            var entry = ProtobufMessage()
            switch value {
            case .scalar(let tag, let number):
                entry.string(1, tag)
                entry.float(2, number)
            case .image(let tag, let image):
                entry.string(1, tag)
                var encoded = ProtobufMessage()
                encoded.int(1, Int64(image.height))
                encoded.int(2, Int64(image.width))
                encoded.int(3, Int64(image.colorspace))
                encoded.bytes(4, image.png)
                entry.message(4, encoded)
            }
            summary.message(1, entry)
        }
        var event = ProtobufMessage()
        event.double(1, wallTime)
        event.int(2, Int64(step))
        event.message(5, summary)
        return event.bytes
    }

    /// `data` framed as one record of a TensorFlow record file: its length (uint64,
    /// little-endian), the masked CRC-32C of those 8 bytes, the data, the masked CRC-32C of
    /// the data (both uint32, little-endian).
    public static func record(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 16)
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(out[0 ..< 8])).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: data)
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(data)).littleEndian) { out.append(contentsOf: $0) }
        return out
    }
}
