import STNSystem

/// Fills a batch of model frames and labels from a `LabelledImages`, its images read and
/// fitted on `threads` threads (each with its own scratch). The frames are the same for
/// any thread count: each image depends only on its set, index and epoch.
public final class BatchLoader {
    public let fitting: FrameFitting
    public let threads: Int
    private let scratches: [ImageScratch]

    public init(fitting: FrameFitting, threads: Int) {
        self.fitting = fitting
        self.threads = max(1, threads)
        scratches = (0 ..< max(1, threads)).map { _ in ImageScratch() }
    }

    /// Image `indices[j]` of `set` (as drawn in `epoch`) into frame j of `images` and its
    /// label into `labels[j]`. The first image that fails (in batch order) is the error.
    public func load(
        _ set: any LabelledImages, indices: ArraySlice<Int>, epoch: Int, images: UnsafeMutablePointer<Float>,
        labels: UnsafeMutablePointer<UInt8>
    ) throws {
        let count = indices.count
        guard count > 0 else { return }
        let parts = min(threads, count)
        let frameCount = fitting.frameCount
        let first = indices.startIndex
        var failures = [Error?](repeating: nil, count: parts)
        failures.withUnsafeMutableBufferPointer { failures in
            // Each part writes only its own frames, labels, failure slot and scratch.
            concurrentParts(parts) { part in
                let scratch = scratches[part]
                for j in count * part / parts ..< count * (part + 1) / parts {
                    let index = indices[first + j]
                    do {
                        let layout = try set.read(index, epoch: epoch, into: scratch)
                        if let problem = fitting.problem(layout) { throw DataError(set.origin(index), problem) }
                        if layout.isFloat {
                            scratch.floats.withUnsafeBufferPointer { samples in
                                fitting.frame(
                                    floats: samples.baseAddress!, layout: layout, into: images + j * frameCount,
                                    scratch: scratch)
                            }
                        } else {
                            scratch.samples.withUnsafeBufferPointer { samples in
                                fitting.frame(
                                    samples.baseAddress!, layout: layout, into: images + j * frameCount,
                                    scratch: scratch)
                            }
                        }
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
}
