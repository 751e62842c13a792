import STNSystem

/// An IDX pair as training data: images (N x H x W grey, or N x H x W x C) and one label
/// each. A raw images file is mapped (`MappedFile`), so its size is bounded by the disk, not
/// memory; a gzip one is inflated into memory (up to `IDX.maximumBytes`).
public final class IDXImageSet: LabelledImages, @unchecked Sendable {
    /// The images file, and the labels file, as given.
    public let imagesPath: String
    public let labelsPath: String
    public let count: Int
    /// Every image's layout (one for the whole file).
    public let layout: ImageLayout
    /// Whether the pixels are mapped from the file rather than held in memory.
    public let isMapped: Bool
    private let labelValues: [UInt8]
    /// Immutable after init: read from any thread.
    private let storage: Storage

    private enum Storage {
        /// The mapped file and where its pixels start.
        case mapped(MappedFile, offset: Int)
        case memory([UInt8])
    }

    /// Opens `images` (mapped when raw) and reads `labels`; one label per image.
    public init(images: String, labels: String) throws {
        imagesPath = images
        labelsPath = labels
        let dims: [Int]
        if let (mappedDims, file, offset) = try IDX.mapFrames(at: images) {
            dims = mappedDims
            storage = .mapped(file, offset: offset)
            isMapped = true
        } else {
            let frames = try IDX.readFrames(at: images)
            dims = [frames.count, frames.rows, frames.columns, frames.channels]
            storage = .memory(frames.pixels)
            isMapped = false
        }
        count = dims[0]
        layout = ImageLayout(rows: dims[1], columns: dims[2], channels: dims.count == 4 ? dims[3] : 1)
        labelValues = try IDX.readLabels(at: labels)
        guard labelValues.count == count else {
            throw IDXError(labels, .countMismatch(images: count, labels: labelValues.count))
        }
    }

    /// Images already in memory (MNIST's test set, distorted), with their labels.
    public init(_ images: IDXImages, labels: [UInt8], name: String) {
        precondition(labels.count == images.count, "one label per image")
        imagesPath = name
        labelsPath = name
        count = images.count
        layout = ImageLayout(rows: images.rows, columns: images.columns, channels: images.channels)
        isMapped = false
        labelValues = labels
        storage = .memory(images.pixels)
    }

    public func label(_ index: Int) -> UInt8 { labelValues[index] }

    public var labels: [UInt8] { labelValues }

    public func read(_ index: Int, epoch: Int, into scratch: ImageScratch) throws -> ImageLayout {
        let n = layout.sampleCount
        scratch.reserve(n)
        scratch.samples.withUnsafeMutableBufferPointer { target in
            switch storage {
            case .mapped(let file, let offset):
                UnsafeMutableRawBufferPointer(target).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: file.bytes[offset + index * n ..< offset + (index + 1) * n]))
            case .memory(let pixels):
                pixels.withUnsafeBufferPointer {
                    target.baseAddress!.update(from: $0.baseAddress! + index * n, count: n)
                }
            }
        }
        return layout
    }

    public func origin(_ index: Int) -> String { "\(imagesPath) (image \(index))" }

    public var sharesOneLayout: Bool { true }

    /// The first label that is not one of `classes` classes, as an error naming the labels file.
    public func checkLabels(classes: Int) throws {
        if let bad = labelValues.firstIndex(where: { Int($0) >= classes }) {
            throw IDXError(labelsPath, .labelOutOfRange(index: bad, value: labelValues[bad], classes: classes))
        }
    }
}
