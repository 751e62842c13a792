import STNData

/// `--augment` in the training loop: the jitter, its scratch and a copy buffer for one
/// image of the model's input, made once and reused for every image (one thread).
final class TrainingAugmentation {
    let augmentation: Augmentation
    let seed: UInt64
    let width: Int
    let height: Int
    let channels: Int
    private let workspace: DistortionWorkspace
    private let copy: UnsafeMutablePointer<Float>

    init(_ augmentation: Augmentation, seed: UInt64, width: Int, height: Int, channels: Int) {
        self.augmentation = augmentation
        self.seed = seed
        self.width = width
        self.height = height
        self.channels = channels
        workspace = DistortionWorkspace(count: augmentation.workspaceCount(width: width, height: height))
        copy = .allocate(capacity: max(1, width * height * channels))
    }

    deinit { copy.deallocate() }

    /// Jitters one image in place (height x width x channels floats): training image
    /// `index`'s draw in `epoch`.
    func apply(to image: UnsafeMutablePointer<Float>, index: Int, epoch: Int) {
        augmentation.apply(
            inPlace: image, copy: copy, width: width, height: height, channels: channels, interleaved: true,
            seed: seed, index: index, epoch: epoch, workspace: workspace)
    }
}
