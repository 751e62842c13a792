import STNSystem

/// Fills a batch of model frames and labels from a `LabelledImages`, its images read,
/// fitted and (for training batches, with `--augment`) jittered on `threads` threads, each
/// with its own scratch. The frames are the same for any thread count: each image depends
/// only on its set, index and epoch, and its jitter on the seed, the epoch and its index.
public final class BatchLoader {
    public let fitting: FrameFitting
    public let threads: Int
    /// The jitter of training frames (`--augment`), and the seed its draws are keyed by.
    public let augmentation: Augmentation?
    public let seed: UInt64
    private let scratches: [ImageScratch]

    public init(fitting: FrameFitting, threads: Int, augmentation: Augmentation? = nil, seed: UInt64 = 0) {
        self.fitting = fitting
        self.threads = max(1, threads)
        self.augmentation = augmentation
        self.seed = seed
        scratches = (0 ..< max(1, threads)).map { _ in ImageScratch() }
    }

    /// Image `indices[j]` of `set` (as drawn in `epoch`) into frame j of `images` and its
    /// label into `labels[j]`; with `augment`, each frame then jittered by `augmentation`
    /// (image `indices[j]`'s draw in `epoch`). The first image that fails (in batch order)
    /// is the error.
    public func load(
        _ set: any LabelledImages, indices: ArraySlice<Int>, epoch: Int, images: UnsafeMutablePointer<Float>,
        labels: UnsafeMutablePointer<UInt8>, augment: Bool = false
    ) throws {
        let count = indices.count
        guard count > 0 else { return }
        let parts = min(threads, count)
        let frameCount = fitting.frameCount
        let first = indices.startIndex
        let jitter = augment ? augmentation : nil
        var failures = [Error?](repeating: nil, count: parts)
        failures.withUnsafeMutableBufferPointer { failures in
            // Each part writes only its own frames, labels, failure slot and scratch.
            concurrentParts(parts) { part in
                let scratch = scratches[part]
                for j in count * part / parts ..< count * (part + 1) / parts {
                    let index = indices[first + j]
                    let frame = images + j * frameCount
                    do {
                        let layout = try set.read(index, epoch: epoch, into: scratch)
                        if let problem = fitting.problem(layout) { throw DataError(set.origin(index), problem) }
                        if layout.isFloat {
                            scratch.floats.withUnsafeBufferPointer { samples in
                                fitting.frame(
                                    floats: samples.baseAddress!, layout: layout, into: frame, scratch: scratch)
                            }
                        } else {
                            scratch.samples.withUnsafeBufferPointer { samples in
                                fitting.frame(samples.baseAddress!, layout: layout, into: frame, scratch: scratch)
                            }
                        }
                        if let jitter { self.jitter(frame, by: jitter, index: index, epoch: epoch, scratch: scratch) }
                        labels[j] = set.label(index)
                    } catch {
                        failures[part] = error
                        return
                    }
                }
            }
        }
        if let failure = failures.first(where: { $0 != nil }) { throw failure! }
    }

    /// Jitters one frame in place, through the scratch's conversion room (free once the
    /// frame is made) and its distortion workspace.
    private func jitter(
        _ frame: UnsafeMutablePointer<Float>, by augmentation: Augmentation, index: Int, epoch: Int,
        scratch: ImageScratch
    ) {
        let (width, height) = (fitting.columns, fitting.rows)
        augmentation.apply(
            inPlace: frame, copy: scratch.conversion(fitting.frameCount, of: Float.self), width: width, height: height,
            channels: fitting.channels, interleaved: true, seed: seed, index: index, epoch: epoch,
            workspace: scratch.workspace(augmentation.workspaceCount(width: width, height: height)))
    }
}
