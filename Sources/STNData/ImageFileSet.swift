import STNImage
import STNSystem

/// Image files (PNG or PGM) with a label each, as training data: a class folder or a CSV
/// list. Nothing is kept in memory but the list: the check before training decodes every
/// file once (`checkImages`), and each batch decodes its own images.
public struct ImageFileSet: LabelledImages {
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var label: UInt8
        public init(path: String, label: UInt8) {
            self.path = path
            self.label = label
        }
    }

    /// What the list came from (the folder or CSV file), for messages.
    public let source: String
    public let entries: [Entry]

    public init(source: String, entries: [Entry]) {
        self.source = source
        self.entries = entries
    }

    public var count: Int { entries.count }
    public func label(_ index: Int) -> UInt8 { entries[index].label }
    public func origin(_ index: Int) -> String { entries[index].path }

    public func read(_ index: Int, epoch: Int, into scratch: ImageScratch) throws -> ImageLayout {
        let path = entries[index].path
        let image: DecodedImage
        do {
            image = try ImageFile.read(path)
        } catch let error as ImageReadError {
            throw DataError(path, error.problem)
        }
        let layout = ImageLayout(
            rows: image.height, columns: image.width, channels: image.channels, alpha: image.hasAlpha)
        scratch.reserve(layout.sampleCount)
        let maximum = image.maximum
        image.samples.withUnsafeBufferPointer { source in
            scratch.samples.withUnsafeMutableBufferPointer { target in
                if maximum == 255 {
                    for i in 0 ..< source.count { target[i] = UInt8(truncatingIfNeeded: source[i]) }
                } else {
                    // Scaled to 0 ... 255 as `DecodedImage.eightBitSamples` (and stn-infer) do.
                    let m = UInt32(maximum)
                    for i in 0 ..< source.count {
                        target[i] = UInt8((UInt32(min(source[i], UInt16(maximum))) * 255 + m / 2) / m)
                    }
                }
            }
        }
        return layout
    }
}
