/// The built-in models. A preset is a description and nothing else: written to a file and
/// loaded with `stn-train --architecture`, it gives the same model.
extension Architecture {
    /// The seed's CNN (Jaderberg et al. 2015 on RTS MNIST, 42 x 42 frames).
    public static let cnn = preset(ModelDescription.cnnText)
    /// The seed's ST-CNN: an affine spatial transformer in front of a 32-channel CNN.
    public static let stCNN = preset(ModelDescription.stCNNText)
    /// The model of PyTorch's spatial-transformer tutorial, under its state_dict names.
    public static let pytorchTutorial = preset(ModelDescription.pytorchTutorialText)

    public static let presets: [Architecture] = [.cnn, .stCNN, .pytorchTutorial]
    public static var presetNames: [String] { presets.map(\.name) }

    /// The preset called `name`, found by its description's header line, so that a process
    /// loading one preset parses only that one (part of stn-infer's start-up).
    public static func preset(named name: String) -> Architecture? {
        let header = "stn-model 1 name=\(name)\n"
        return presetsByText.first { $0.text.hasPrefix(header) }?.architecture()
    }

    private static let presetsByText: [(text: String, architecture: @Sendable () -> Architecture)] = [
        (ModelDescription.cnnText, { .cnn }), (ModelDescription.stCNNText, { .stCNN }),
        (ModelDescription.pytorchTutorialText, { .pytorchTutorial }),
    ]

    private static func preset(_ text: String) -> Architecture {
        do {
            return try Architecture(parsing: text)
        } catch {
            // The presets are constants checked by the tests; this cannot happen in a release.
            preconditionFailure("built-in model description is invalid: \(error)")
        }
    }

    /// A state_dict without a description (a bare h5py dump) is recognised by its names.
    public static func identify(parameterNames names: Set<String>) -> Architecture? {
        if names.contains("localization.0.weight") && names.contains("fc_loc.0.weight") { return .pytorchTutorial }
        if names.contains(where: { $0.hasPrefix("localisation_net.") }) { return .stCNN }
        if names.contains("convs.0.weight") { return .cnn }
        return nil
    }
}

extension ModelDescription {
    static let cnnText = """
        stn-model 1 name=cnn
        input image 1x42x42
        conv convs.0 image out=36 kernel=9
        maxpool convs.1 convs.0 kernel=2
        relu convs.2 convs.1
        conv convs.3 convs.2 out=36 kernel=7
        maxpool convs.4 convs.3 kernel=2
        relu convs.5 convs.4
        flatten flat convs.5
        linear classification.0 flat out=50
        relu classification.1 classification.0
        linear classification.2 classification.1 out=10
        log_softmax log_probs classification.2
        """

    static let stCNNText = """
        stn-model 1 name=st-cnn
        input image 1x42x42
        # The localisation net sees the frame at half size and predicts theta (2 x 3).
        resize downsampled image scale=0.5
        conv localisation_net.0 downsampled out=20 kernel=5
        maxpool localisation_net.1 localisation_net.0 kernel=2
        relu localisation_net.2 localisation_net.1
        conv localisation_net.3 localisation_net.2 out=20 kernel=5
        relu localisation_net.4 localisation_net.3
        flatten localisation_net.5 localisation_net.4
        linear localisation_net.6 localisation_net.5 out=20
        relu localisation_net.7 localisation_net.6
        linear localisation_net.8 localisation_net.7 out=6
        affine_grid grid localisation_net.8 size=42x42
        grid_sample sampled image,grid
        conv convs.0 sampled out=32 kernel=9
        maxpool convs.1 convs.0 kernel=2
        relu convs.2 convs.1
        conv convs.3 convs.2 out=32 kernel=7
        maxpool convs.4 convs.3 kernel=2
        relu convs.5 convs.4
        flatten flat convs.5
        linear classification.0 flat out=50
        relu classification.1 classification.0
        linear classification.2 classification.1 out=10
        log_softmax log_probs classification.2
        """

    static let pytorchTutorialText = """
        stn-model 1 name=pytorch-tutorial
        input image 1x28x28
        normalize normalized image mean=0.1307 std=0.3081
        conv localization.0 normalized out=8 kernel=7
        maxpool localization.1 localization.0 kernel=2
        relu localization.2 localization.1
        conv localization.3 localization.2 out=10 kernel=5
        maxpool localization.4 localization.3 kernel=2
        relu localization.5 localization.4
        flatten xs localization.5
        linear fc_loc.0 xs out=32
        relu fc_loc.1 fc_loc.0
        linear fc_loc.2 fc_loc.1 out=6
        affine_grid grid fc_loc.2 size=28x28
        grid_sample transformed normalized,grid
        conv conv1 transformed out=10 kernel=5
        maxpool conv1.pool conv1 kernel=2
        relu conv1.relu conv1.pool
        conv conv2 conv1.relu out=20 kernel=5
        dropout2d conv2_drop conv2 p=0.5
        maxpool conv2.pool conv2_drop kernel=2
        relu conv2.relu conv2.pool
        flatten flat conv2.relu
        linear fc1 flat out=50
        relu fc1.relu fc1
        dropout fc1.drop fc1.relu p=0.5
        linear fc2 fc1.drop out=10
        log_softmax log_probs fc2
        """
}

/// The models of the paper's Table 1 (Jaderberg et al. 2015): fully connected and
/// convolutional baselines, and each with a spatial transformer in front, for 42 x 42 (RTS)
/// or 28 x 28 (R, P, E) frames. On 42 x 42, `cnn` and `st-cnn` with the affine transform are
/// the seed's presets, unchanged.
public enum Table1Model: String, Sendable, CaseIterable {
    case fcn
    case cnn
    case stFCN = "st-fcn"
    case stCNN = "st-cnn"

    public var hasTransformer: Bool { self == .stFCN || self == .stCNN }

    /// The model for `side` x `side` frames with `transform` (ignored without a transformer).
    public func architecture(transform: TransformKind, side: Int) -> Architecture {
        if side == 42 && self == .cnn { return .cnn }
        if side == 42 && self == .stCNN && transform == .affine { return .stCNN }
        do {
            return try Architecture(parsing: description(transform: transform, side: side))
        } catch {
            preconditionFailure("built-in Table 1 model is invalid: \(error)")
        }
    }

    /// The file name of a Table 1 cell: fcn, cnn, st-fcn-affine, st-cnn-tps, ...
    public func cellName(transform: TransformKind) -> String {
        hasTransformer ? "\(rawValue)-\(transform.rawValue)" : rawValue
    }

    /// The layer list (see docs/table1.md for the sizes).
    public func description(transform: TransformKind, side: Int) -> String {
        let name = cellName(transform: transform) + (side == 42 ? "" : "-\(side)")
        var lines = ["stn-model 1 name=\(name)", "input image 1x\(side)x\(side)"]
        var classifierInput = "image"
        if hasTransformer {
            let p = transform.parameterCount
            if self == .stFCN {
                // A three-layer fully connected localisation net of 32 units.
                lines += [
                    "flatten localisation_net.0 image",
                    "linear localisation_net.1 localisation_net.0 out=32",
                    "relu localisation_net.2 localisation_net.1",
                    "linear localisation_net.3 localisation_net.2 out=32",
                    "relu localisation_net.4 localisation_net.3",
                    "linear localisation_net.5 localisation_net.4 out=32",
                    "relu localisation_net.6 localisation_net.5",
                    "linear localisation_net.7 localisation_net.6 out=\(p)",
                ]
                lines.append("\(transform.keyword) grid localisation_net.7 size=\(side)x\(side)")
            } else {
                // The seed's localisation net on the frame at half size; on 28 x 28 its second
                // convolution is 3 x 3 (a 5 x 5 one would leave 1 x 1).
                let second = side == 42 ? 5 : 3
                lines += [
                    "resize downsampled image scale=0.5",
                    "conv localisation_net.0 downsampled out=20 kernel=5",
                    "maxpool localisation_net.1 localisation_net.0 kernel=2",
                    "relu localisation_net.2 localisation_net.1",
                    "conv localisation_net.3 localisation_net.2 out=20 kernel=\(second)",
                    "relu localisation_net.4 localisation_net.3",
                    "flatten localisation_net.5 localisation_net.4",
                    "linear localisation_net.6 localisation_net.5 out=20",
                    "relu localisation_net.7 localisation_net.6",
                    "linear localisation_net.8 localisation_net.7 out=\(p)",
                ]
                lines.append("\(transform.keyword) grid localisation_net.8 size=\(side)x\(side)")
            }
            lines.append("grid_sample sampled image,grid")
            classifierInput = "sampled"
        }
        if self == .fcn || self == .stFCN {
            // Three hidden layers of 128 units.
            lines += [
                "flatten flat \(classifierInput)",
                "linear fcn.0 flat out=128",
                "relu fcn.1 fcn.0",
                "linear fcn.2 fcn.1 out=128",
                "relu fcn.3 fcn.2",
                "linear fcn.4 fcn.3 out=128",
                "relu fcn.5 fcn.4",
                "linear fcn.6 fcn.5 out=10",
                "log_softmax log_probs fcn.6",
            ]
        } else {
            // The seed's classifier: 36 channels alone, 32 behind a transformer.
            let channels = hasTransformer ? 32 : 36
            lines += [
                "conv convs.0 \(classifierInput) out=\(channels) kernel=9",
                "maxpool convs.1 convs.0 kernel=2",
                "relu convs.2 convs.1",
                "conv convs.3 convs.2 out=\(channels) kernel=7",
                "maxpool convs.4 convs.3 kernel=2",
                "relu convs.5 convs.4",
                "flatten flat convs.5",
                "linear classification.0 flat out=50",
                "relu classification.1 classification.0",
                "linear classification.2 classification.1 out=10",
                "log_softmax log_probs classification.2",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
