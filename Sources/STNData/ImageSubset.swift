/// Some images of a set, in a given order: a validation split, or a set in a fixed shuffled
/// order (so that its first N, what `--limit` takes, are a sample of every class rather
/// than the first class's images).
public struct ImageSubset: LabelledImages {
    public let base: any LabelledImages
    public let indices: [Int]

    public init(_ base: any LabelledImages, indices: [Int]) {
        self.base = base
        self.indices = indices
    }

    public var count: Int { indices.count }
    public func label(_ index: Int) -> UInt8 { base.label(indices[index]) }
    public func origin(_ index: Int) -> String { base.origin(indices[index]) }
    public func read(_ index: Int, epoch: Int, into scratch: ImageScratch) throws -> ImageLayout {
        try base.read(indices[index], epoch: epoch, into: scratch)
    }
    public var sharesOneLayout: Bool { base.sharesOneLayout }
    /// The labels of the whole set: a label file's fault is named by its place there.
    public func checkLabels(classes: Int) throws { try base.checkLabels(classes: classes) }
}

/// Splitting a data set the same way in every run.
public enum DataSplit {
    /// The PRNG stream of the shuffle: fixed, not the run's seed, so runs of different seeds
    /// train and validate on the same images.
    static let stream: UInt64 = 0xDA7A_5B11
    static let seed: UInt64 = 1

    /// 0 ..< count in a fixed shuffled order (Fisher-Yates on a fixed PRNG stream).
    public static func shuffled(_ count: Int) -> [Int] {
        var order = Array(0 ..< count)
        var random = PRNG(seed: seed, stream: stream)
        var i = count - 1
        while i > 0 {
            let j = Int(random.next() % UInt64(i + 1))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    /// `set` in a fixed shuffled order, and the held-out part: the first
    /// round(fraction x count) images of that order (at least one) are validation, the rest
    /// training; nil fraction holds nothing out.
    public static func split(_ set: any LabelledImages, validationFraction fraction: Double?) -> (
        train: ImageSubset, validation: ImageSubset?
    ) {
        let order = shuffled(set.count)
        guard let fraction else { return (ImageSubset(set, indices: order), nil) }
        let held = min(set.count, max(1, Int((fraction * Double(set.count)).rounded())))
        return (ImageSubset(set, indices: Array(order[held...])), ImageSubset(set, indices: Array(order[..<held])))
    }
}
