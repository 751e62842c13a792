import STNSystem

/// An IDX pair as training data: images (N x H x W grey, or N x H x W x C; bytes or float32)
/// and one label each. A raw images file is mapped (`MappedFile`), so its size is bounded by
/// the disk, not memory; a gzip one is inflated into memory (up to `IDX.maximumBytes`).
/// Float32 images must be finite: `checkImages` reads every value once before training, and
/// each read checks its image again.
public final class IDXImageSet: LabelledImages, @unchecked Sendable {
    /// The images file, and the labels file, as given.
    public let imagesPath: String
    public let labelsPath: String
    public let count: Int
    /// Every image's layout (one for the whole file).
    public let layout: ImageLayout
    /// Whether the pixels are mapped from the file rather than held in memory.
    public let isMapped: Bool
    /// Unsigned bytes or float32.
    public let element: IDXElement
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
        if let (mappedDims, mappedElement, file, offset) = try IDX.mapFrames(at: images) {
            dims = mappedDims
            element = mappedElement
            storage = .mapped(file, offset: offset)
            isMapped = true
        } else {
            let read = try IDX.read(images, dimensions: 3, allowChannels: true, allowFloat: true)
            dims = read.dims
            element = read.element
            storage = .memory(read.payload)
            isMapped = false
        }
        count = dims[0]
        layout = ImageLayout(
            rows: dims[1], columns: dims[2], channels: dims.count == 4 ? dims[3] : 1, isFloat: element == .float32)
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
        element = .unsignedByte
        labelValues = labels
        storage = .memory(images.pixels)
    }

    public func label(_ index: Int) -> UInt8 { labelValues[index] }

    public var labels: [UInt8] { labelValues }

    public func read(_ index: Int, epoch: Int, into scratch: ImageScratch) throws -> ImageLayout {
        let n = layout.sampleCount
        let size = n * element.size
        try withImageBytes(index * size ..< (index + 1) * size) { bytes in
            switch element {
            case .unsignedByte:
                scratch.reserve(n)
                scratch.samples.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
            case .float32:
                scratch.reserveFloats(n)
                try scratch.floats.withUnsafeMutableBufferPointer { floats in
                    if let bad = IDXElement.decodeFloats(bytes.baseAddress!, count: n, into: floats.baseAddress!) {
                        throw IDXError.nonFinite(
                            imagesPath, image: index, sample: bad, value: floats[bad], layout: layout)
                    }
                }
            }
        }
        return layout
    }

    /// Runs `body` on the bytes at `range` of the pixels (payload offsets).
    private func withImageBytes<T>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        switch storage {
        case .mapped(let file, let offset):
            return try body(
                UnsafeRawBufferPointer(rebasing: file.bytes[offset + range.lowerBound ..< offset + range.upperBound]))
        case .memory(let pixels):
            return try pixels.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        }
    }

    /// Checks the one layout; float32 images are read through once, on `threads` threads, and
    /// the first NaN or infinity (in file order) is an error naming the image. The pages of a
    /// mapped file are let go as the check passes them, so it costs no memory.
    public func checkImages(threads: Int, _ check: (ImageLayout, Int) throws -> Void) throws {
        if element == .float32 {
            let n = layout.sampleCount
            let imageBytes = n * 4
            // About 4 MiB of images at a time, so pages are let go as they are read.
            let imagesPerChunk = max(1, (4 << 20) / imageBytes)
            let parts = max(1, min(threads, count))
            let count = self.count
            var firstBad = [(image: Int, sample: Int)?](repeating: nil, count: parts)
            firstBad.withUnsafeMutableBufferPointer { firstBad in
                // Each part scans its own contiguous run of images and writes only its own slot.
                concurrentParts(parts) { part in
                    var image = count * part / parts
                    let end = count * (part + 1) / parts
                    while image < end, firstBad[part] == nil {
                        let last = min(end, image + imagesPerChunk)
                        let range = image * imageBytes ..< last * imageBytes
                        if let bad = withImageBytes(
                            range, { IDXElement.firstNonFinite($0.baseAddress!, count: $0.count / 4) })
                        {
                            firstBad[part] = (image + bad / n, bad % n)
                        }
                        if case .mapped(let file, let offset) = storage {
                            file.releasePages(offset + range.lowerBound ..< offset + range.upperBound)
                        }
                        image = last
                    }
                }
            }
            if let (image, sample) = firstBad.lazy.compactMap({ $0 }).first {
                let at = (image * n + sample) * 4
                let value = withImageBytes(at ..< at + 4) {
                    Float(bitPattern: UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)))
                }
                throw IDXError.nonFinite(imagesPath, image: image, sample: sample, value: value, layout: layout)
            }
        }
        try check(layout, 0)
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
