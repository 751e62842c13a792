import ArgumentParser
import Foundation
import STNCommandLine
import STNData
import STNKernelSelection
import STNLibHDF5
import STNModel
import STNPlan
import STNSystem
import STNTrainer

@main
struct TrainCommand: ParsableCommand {
    static func main() { runTool(TrainCommand.self, name: "stn-train", prepare: { try ISA.selectFromEnvironment() }) }

    static let configuration = CommandConfiguration(
        commandName: "stn-train",
        abstract:
            "Train a spatial transformer network (or any model) on MNIST, plain or distorted, or on your own labelled images.",
        discussion: """
            Models: the built-in cnn and st-cnn (42x42 RTS frames), pytorch-tutorial (the model of PyTorch's spatial-transformer tutorial, 28x28 digits), or any model written as a layer list in a file (--architecture; format in docs/model-format.md). The weight file records the layer list, so stn-infer runs it as trained.

            Data (--distortion): rts gives every image a fresh random rotation (+-45 deg), scale (0.7-1.2) and placement in a 42x42 frame each epoch, tested on the fixed RTS test set (MNIST t10k, seed 1); r, p and e are the paper's rotated (+-90 deg), projective and elastic 28x28 digits (parameters in docs/table1.md), drawn fresh each epoch and tested on t10k distorted with seed 1; none trains on the 28x28 digits as they are. The default is rts for the Table 1 models and none for pytorch-tutorial. Beside --out it writes OUT.csv (per-epoch log), OUT.png (loss and accuracy curves) and OUT.checkpoint.h5 (every epoch, and on Ctrl-C), and while it runs holds a lock on each of these files, the file name plus .lock (w.h5.lock, w.csv.lock, w.png.lock, w.checkpoint.h5.lock): a second stn-train that would write any of them (the same --out, or --out w.checkpoint.h5) is refused.

            Your own data (--train; docs/training.md): a folder with one folder of PNG or PGM images per class (torchvision's ImageFolder: classes sorted by name), a CSV of path,label lines (labels class indices or names), or an IDX pair IMAGES,LABELS (N x H x W or N x H x W x C, 8-bit or float32; raw files are memory-mapped). Each epoch is measured on --test DATA or on a fraction held out with --val-split. The model's input (C x H x W) decides the frames: other sizes are refused unless --fit pad or --fit resize, grey for an RGB model or RGB for a grey one unless --color rgb or --color grey; 8-bit pixels are scaled by 1/255, float32 IDX values are the model's input as they are (finite, checked before training). Class names (the folders', named labels, or --classes FILE) are kept in the weight file and stn-infer prints them. Every image file is decoded once before training: a corrupt one, a label out of range, a count mismatch or a size that does not fit is one line naming the file, and nothing is written. --init FILE --reset PREFIX starts a trained model's layers afresh (another class count).

            Recipes: 'default' (SGD momentum 0.9, weight decay 5e-4, lr 0.1 with 2 warm-up epochs and cosine decay, batch 128, localisation net at 0.15x the rate, gradients clipped to norm 1) and 'seed' (the original code: SGD lr 0.01, no momentum, batch 256, StepLR 50,000 iterations x0.1). Flags override single fields of the recipe.

            Examples:
              stn-train --model st-cnn --out Weights/st-cnn.h5
              stn-train --model cnn --recipe seed --epochs 5 --out /tmp/cnn.h5
              stn-train --resume /tmp/cnn.checkpoint.h5
              stn-train --model st-cnn --summary
              stn-train --model pytorch-tutorial --distortion none --epochs 1 --out /tmp/tutorial.h5
              stn-train --architecture my-model.txt --out /tmp/mine.h5
              stn-train --architecture signs.txt --train photos/ --val-split 0.1 --fit resize --out signs.h5
              stn-train --architecture rgb.txt --train train.csv --test test.csv --color rgb --out rgb.h5
              stn-train --architecture m.txt --train images-idx4-ubyte,labels-idx1-ubyte --val-split 0.1 --out m.h5
              stn-train --architecture three.txt --init ten.h5 --reset fc2. --train photos/ --val-split 0.1 --out three.h5
              stn-train --model st-cnn --tensorboard runs/st-cnn --keep best --augment rotate=10 --out /tmp/st.h5

            Watching training (docs/training.md): on a terminal a progress bar with the time left is drawn on standard error; --tensorboard DIR writes the losses, accuracy, learning rate and the transformer's output for a few test images to a TensorBoard event file in DIR each epoch; at the end the per-class accuracy is printed and OUT.confusion.png drawn; --keep best keeps the epoch that did best on the test set; --augment jitters every training image.
            """)

    @Option(
        help: ArgumentHelp(
            "Built-in model: st-cnn, cnn, st-fcn, fcn (the paper's Table 1, sized for the data's frames) or pytorch-tutorial.",
            valueName: "name"))
    var model: String = "st-cnn"

    @Option(help: "Transform of the st- models: attention, affine, projective or tps.")
    var transform: String = "affine"

    @Option(help: "Train the model described in this file instead (layer list, docs/model-format.md).")
    var architecture: String?

    @Option(
        name: .customLong("init"),
        help: ArgumentHelp(
            "Start from this weight file's parameters (any stn-train or stn-convert output): its own model, unless --architecture names one with the same parameters.",
            valueName: "file"))
    var initFile: String?

    @Option(
        help: ArgumentHelp(
            "Keep the parameters whose names start with this prefix as they are (repeatable; e.g. --freeze localization. --freeze fc_loc.).",
            valueName: "prefix"))
    var freeze: [String] = []

    @Option(
        help: ArgumentHelp(
            "With --init: start the parameters whose names start with this prefix afresh (PyTorch's default initialisation), e.g. the last layer of a model trained for another number of classes (repeatable; e.g. --reset fc2.).",
            valueName: "prefix"))
    var reset: [String] = []

    @Option(
        help:
            "MNIST data: rts (42x42 frames), r, p, e (rotated, projective, elastic 28x28 digits: the paper's Table 1) or none (plain 28x28 digits). Default: rts for the Table 1 models, none for pytorch-tutorial, else what fits the model's input."
    )
    var distortion: String?

    @Option(
        help: ArgumentHelp(
            "Train on your own labelled images instead of MNIST: a folder with one folder of PNG or PGM images per class, a CSV of path,label lines, or an IDX pair IMAGES,LABELS (N x H x W or N x H x W x C; or a folder holding one). The model's input decides the frames.",
            valueName: "DATA"))
    var train: String?

    @Option(
        help: ArgumentHelp(
            "The images to measure the model on after every epoch, in any form --train takes (an image folder's classes matched by name).",
            valueName: "DATA"))
    var test: String?

    @Option(
        name: .customLong("val-split"), parsing: .unconditional,
        help: ArgumentHelp(
            "Instead of --test: hold out this fraction of the --train images to measure the model on (a fixed shuffle, the same for every --seed).",
            valueName: "FRACTION"))
    var valSplit: Double?

    @Option(
        help: ArgumentHelp(
            "--train images of another size than the model's: refuse (the default: one line naming the image and both sizes), pad (centred on a black canvas; a larger image is refused) or resize (bilinear to the model's size).",
            valueName: "refuse|pad|resize"))
    var fit: String?

    @Option(
        help: ArgumentHelp(
            "Convert --train images whose channels differ from the model's: grey (RGB to grey by luminance, for a 1-channel model) or rgb (grey repeated in R, G and B, for a 3-channel model). Without it, such an image is refused.",
            valueName: "grey|rgb"))
    var color: String?

    @Option(
        help: ArgumentHelp(
            "Names of the classes, one a line (class i is line i): labels of a CSV may be these names, an image folder's folders must be among them. Kept in the weight file; stn-infer prints them. An image folder or named CSV labels name the classes without it.",
            valueName: "FILE"))
    var classes: String?

    @Option(help: "Output weight file (HDF5). Required unless --summary or --resume.")
    var out: String?

    @Option(help: "Training recipe: default or seed.")
    var recipe: String = "default"

    // Numeric options read the next argument even when it starts with '-', so that a
    // negative number reaches validate() and is refused with its range.
    @Option(parsing: .unconditional, help: "Epochs (overrides the recipe).") var epochs: Int?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images per batch (overrides the recipe).")
    var batchSize: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate (overrides the recipe).") var lr: Double?
    @Option(parsing: .unconditional, help: "SGD momentum (overrides the recipe).") var momentum: Double?
    @Option(
        name: .customLong("weight-decay"), parsing: .unconditional, help: "L2 weight decay (overrides the recipe).")
    var weightDecay: Double?
    @Option(help: "Learning-rate schedule: cosine, step or constant (overrides the recipe).") var schedule: String?
    @Option(
        name: .customLong("warmup-epochs"), parsing: .unconditional, help: "Warm-up epochs for the cosine schedule.")
    var warmupEpochs: Double?
    @Option(
        name: .customLong("step-size"), parsing: .unconditional,
        help: "Iterations between rate drops for the step schedule.")
    var stepSize: Int?
    @Option(parsing: .unconditional, help: "Rate multiplier per step for the step schedule.") var gamma: Double?
    @Option(
        name: .customLong("loc-lr-scale"), parsing: .unconditional,
        help: "Learning-rate multiplier for the localisation net.")
    var locLRScale: Double?
    @Option(
        name: .customLong("clip-norm"), parsing: .unconditional,
        help: "Clip each batch's gradient to this global L2 norm (0: no clipping).")
    var clipNorm: Double?
    @Option(
        name: .customLong("loc-optimizer"),
        help:
            "Update rule of the localisation net: sgd (as the classifier) or adam (AdamW at the rate times --loc-lr-scale)."
    )
    var locOptimizer: String?
    @Option(
        name: .customLong("label-smoothing"), parsing: .unconditional,
        help: "Train against (1 - e) one-hot + e / 10 (0: plain log-likelihood).")
    var labelSmoothing: Double?

    @Option(
        parsing: .unconditional, help: "Random seed: initialisation, shuffling and RTS draws (default: 1).",
        transform: parseSeed)
    var seed: UInt64 = 1
    @Option(
        parsing: .unconditional, help: "Worker threads (results are bit-identical for the same seed and thread count).")
    var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    @Option(
        parsing: .unconditional,
        help:
            "Train on the first N training images only (quick runs; of --train data, the first N of a fixed shuffle, so every class is in)."
    )
    var limit: Int?
    @Option(
        name: .customLong("test-limit"), parsing: .unconditional,
        help: "Evaluate on the first N test images only (of --test data, the first N of a fixed shuffle).")
    var testLimit: Int?
    @Option(help: "MNIST directory (default: $STN_DATA, else ./Data/mnist).") var data: String?
    @Option(
        help:
            "Continue from a checkpoint written by an earlier run (its recipe, seed and data are used; --data, --train and --test name moved data)."
    ) var resume: String?
    @Flag(help: "Print the layer table with output shapes and parameter counts, then exit.") var summary = false
    @Flag(help: "Only print per-epoch lines, no per-batch progress.") var quiet = false
    // Watching training and what it leaves (docs/training.md, "Watching training").
    @Option(
        help: ArgumentHelp(
            "Write a TensorBoard event file into this directory (created if needed): per epoch the train and test loss and accuracy, the learning rate, and for a model with a transformer the first test images beside its output.",
            valueName: "DIR"))
    var tensorboard: String?
    @Option(
        help: ArgumentHelp(
            "Which weights --out keeps: last (the last epoch's) or best (the epoch with the best test accuracy so far, rewritten whenever an epoch beats it; attribute kept_epoch names it).",
            valueName: "best|last"))
    var keep: String = "last"
    @Option(
        help: ArgumentHelp(
            "Jitter every training image afresh each epoch: rotate=DEGREES (up to either way), scale=LOW-HIGH, shift=FRACTION (of the size, either way), projective=FRACTION (corner noise), elastic=ALPHA (pixels; sigma=PIXELS, default 4). E.g. rotate=15,scale=0.9-1.1,shift=0.1.",
            valueName: "KEY=VALUE,..."))
    var augment: String?
    @Option(
        name: .customLong("max-memory"),
        help: ArgumentHelp(
            "Refuse a model that needs more memory than this (e.g. 2G, 512M); default: the memory available.",
            valueName: "SIZE"))
    var maxMemory: String?

    func validate() throws {
        guard model == "pytorch-tutorial" || Table1Model(rawValue: model) != nil else {
            throw ValidationError("--model must be one of st-cnn, cnn, st-fcn, fcn, pytorch-tutorial, not '\(model)'")
        }
        guard TransformKind(rawValue: transform) != nil else {
            throw ValidationError("--transform must be attention, affine, projective or tps, not '\(transform)'")
        }
        if let distortion, Distortion(rawValue: distortion) == nil {
            throw ValidationError(
                "--distortion must be one of \(Distortion.allCases.map(\.rawValue).joined(separator: ", ")), not '\(distortion)'"
            )
        }
        guard Recipe.named(recipe) != nil else {
            throw ValidationError("--recipe must be default or seed, not '\(recipe)'")
        }
        try require(epochs, in: 1 ... Recipe.maximumEpochs, for: "--epochs")
        try require(batchSize, in: 1 ... Recipe.maximumBatchSize, for: "--batch-size")
        try require(lr, .above(0), for: "--lr")
        try require(momentum, .atLeast(0), .below(1), for: "--momentum")
        try require(weightDecay, .atLeast(0), for: "--weight-decay")
        if let schedule, Recipe.Schedule.named(schedule) == nil {
            throw ValidationError("--schedule must be cosine, step or constant, not '\(schedule)'")
        }
        try require(locLRScale, .atLeast(0), for: "--loc-lr-scale")
        try require(clipNorm, .atLeast(0), for: "--clip-norm")
        try require(labelSmoothing, .atLeast(0), .below(1), for: "--label-smoothing")
        if let locOptimizer, Recipe.LocalisationOptimizer(rawValue: locOptimizer) == nil {
            throw ValidationError("--loc-optimizer must be sgd or adam, not '\(locOptimizer)'")
        }
        try require(warmupEpochs, .atLeast(0), .atMost(Double(Recipe.maximumEpochs)), for: "--warmup-epochs")
        try require(stepSize, in: 1 ... Int.max, for: "--step-size")
        try require(gamma, .above(0), for: "--gamma")
        try require(limit, in: 1 ... Int.max, for: "--limit")
        try require(testLimit, in: 1 ... Int.max, for: "--test-limit")
        try require(threads, in: 1 ... maximumThreads, for: "--threads")
        try validateData()
        if !reset.isEmpty && initFile == nil {
            throw ValidationError("--reset needs --init FILE (without it every parameter starts afresh)")
        }
        guard KeptWeights(rawValue: keep) != nil else {
            throw ValidationError("--keep must be best or last, not '\(keep)'")
        }
        if let augment {
            do {
                _ = try Augmentation(parsing: augment)
            } catch {
                throw ValidationError("--augment \(augment): \(error)")
            }
        }
        if !summary && out == nil && resume == nil {
            throw ValidationError("missing --out FILE (where to write the trained weights)")
        }
    }

    func run() throws {
        if summary {
            try writeStandardOutputLine(try chosenArchitecture().summary())
            return
        }
        try trainModel()
    }

    /// The data: --distortion, else RTS for the Table 1 models and plain digits for the tutorial's.
    func chosenDistortion(for architecture: Architecture?) -> Distortion {
        if let distortion, let chosen = Distortion(rawValue: distortion) { return chosen }
        if let architecture { return architecture.inputShape.height == Distortion.rts.side ? .rts : .none }
        return model == "pytorch-tutorial" ? .none : .rts
    }

    /// The model to train: the file given with --architecture, else the built-in model for
    /// --model, --transform and the data's frame size.
    func chosenArchitecture() throws -> Architecture {
        if architecture == nil, let initFile { return try initialWeights(initFile).architecture }
        guard let architecture else {
            if model == "pytorch-tutorial" { return .pytorchTutorial }
            return Table1Model(rawValue: model)!.architecture(
                transform: TransformKind(rawValue: transform)!, side: chosenDistortion(for: nil).side)
        }
        let text: String
        do {
            text = try String(contentsOfFile: architecture, encoding: .utf8)
        } catch {
            throw ValidationError("\(architecture): cannot read the model description")
        }
        do {
            return try Architecture(parsing: text)
        } catch {
            throw ValidationError("\(architecture): \(error)")
        }
    }

    /// The --init file's parameters, read and checked.
    func initialWeights(_ path: String) throws -> ModelWeights {
        do {
            return try WeightFile.read(path).weights
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The --init parameters for the model being trained: the file's own model, or one whose
    /// parameters have the same names and shapes. The parameters under a --reset prefix start
    /// afresh (PyTorch's default initialisation from --seed, as a run without --init would);
    /// the file must have every other one.
    func initialWeights(for chosen: Architecture) throws -> ModelWeights? {
        guard let initFile else { return nil }
        let file = try initialWeights(initFile)
        let fresh = reset.isEmpty ? nil : Initializer.pytorchDefault(chosen, seed: seed)
        func isReset(_ name: String) -> Bool { reset.contains { name.hasPrefix($0) } }
        for spec in chosen.parameters where !isReset(spec.name) {
            // The layer's prefix: "fc2." for "fc2.weight".
            let layer = spec.name.split(separator: ".").dropLast().joined(separator: ".") + "."
            guard let found = file.architecture.parameter(spec.name) else {
                throw ValidationError(
                    "\(initFile): has no parameter '\(spec.name)', which the model needs; --reset \(layer) starts it afresh"
                )
            }
            guard found.shape == spec.shape else {
                throw ValidationError(
                    "\(initFile): parameter '\(spec.name)' is \(found.shape), the model needs \(spec.shape); --reset \(layer) starts it afresh"
                )
            }
        }
        do {
            return try ModelWeights(
                architecture: chosen,
                tensors: Dictionary(
                    uniqueKeysWithValues: chosen.parameters.map {
                        ($0.name, isReset($0.name) ? fresh![$0.name] : file[$0.name])
                    }))
        } catch {
            throw ValidationError("\(initFile): \(error)")
        }
    }

    func makeConfiguration() throws -> TrainingConfiguration {
        var r = Recipe.named(recipe)!
        if let epochs { r.epochs = epochs }
        if let batchSize { r.batchSize = batchSize }
        if let lr { r.learningRate = lr }
        if let momentum { r.momentum = momentum }
        if let weightDecay { r.weightDecay = weightDecay }
        if let locLRScale { r.localisationRateScale = locLRScale }
        if let clipNorm { r.gradientClipNorm = clipNorm }
        if let labelSmoothing { r.labelSmoothing = labelSmoothing }
        if let locOptimizer { r.localisationOptimizer = Recipe.LocalisationOptimizer(rawValue: locOptimizer)! }
        // --schedule switches the kind (the recipe's own settings stay when it already is
        // that kind); --warmup-epochs, --step-size and --gamma then tune whichever is in force.
        if let schedule, schedule != r.schedule.name { r.schedule = Recipe.Schedule.named(schedule)! }
        switch r.schedule {
        case .cosine(let warmup): r.schedule = .cosine(warmupEpochs: warmupEpochs ?? warmup)
        case .step(let every, let g): r.schedule = .step(every: stepSize ?? every, gamma: gamma ?? g)
        case .constant: break
        }
        if lr != nil || momentum != nil || weightDecay != nil || epochs != nil || batchSize != nil || schedule != nil
            || locLRScale != nil || clipNorm != nil || locOptimizer != nil || labelSmoothing != nil
        {
            r.name += "+custom"
        }
        let chosen = try chosenArchitecture()
        let data = train != nil ? .none : chosenDistortion(for: architecture == nil && initFile == nil ? nil : chosen)
        var configuration = TrainingConfiguration(
            architecture: chosen, recipe: r, seed: seed, threads: threads, limit: limit, testLimit: testLimit,
            distortion: data)
        configuration.dataSource = dataSource
        for (flag, prefixes) in [("--freeze", freeze), ("--reset", reset)] {
            for prefix in prefixes where !chosen.parameters.contains(where: { $0.name.hasPrefix(prefix) }) {
                throw ValidationError("\(flag) \(prefix): no parameter of \(chosen.name) starts with it")
            }
        }
        configuration.frozen = freeze
        configuration.augmentation = try augment.map { try Augmentation(parsing: $0) }.flatMap {
            $0.isIdentity ? nil : $0
        }
        return configuration
    }

    /// Refuses, before any training, a model whose weight file would not load: a parameter
    /// name HDF5 would store under another name ('/fc2.weight' is stored as 'fc2.weight').
    static func checkStorable(_ architecture: Architecture, source: String) throws {
        for layer in architecture.layers {
            guard layer.parameters.contains(where: { !ModelDescription.isStorableParameterName($0.name) }) else {
                continue
            }
            throw ValidationError(
                "\(source): layer '\(layer.name.prefix(40))': \(ModelDescription.unstorableNameReason(layer.layer.prefix))"
            )
        }
    }

    func trainModel() throws {
        try MemoryBudget.setMaximum(option: maxMemory)
        // Everything that can fail is checked before the first batch.
        var configuration = try makeConfiguration()
        // The model's memory, before the data is read (a resumed run's threads may differ).
        try MemoryBudget.check(
            MemoryBudget.trainingBytes(configuration.architecture, threads: configuration.threads),
            name: architecture ?? model)
        var resumed: TrainingState?
        if let resume {
            let (state, saved) = try Checkpoint.read(resume)
            configuration = saved
            resumed = state
            if threads != saved.threads {
                try writeStandardOutputLine(
                    "note: using the checkpoint's \(saved.threads) threads (needed for bit-identical results)")
            }
        }
        try Self.checkStorable(configuration.architecture, source: resume ?? architecture ?? model)
        let initial = resumed == nil ? try initialWeights(for: configuration.architecture) : nil
        guard let out = out ?? resume.map(OutputPaths.weightsPath(forCheckpoint:)) else {
            throw ValidationError("missing --out FILE")
        }
        let paths = OutputPaths(weights: out)
        try paths.checkWritable()
        // One trainer per output file: a second one whose files overlap this one's (the same
        // --out, or an --out that is this run's checkpoint) is refused, not left to overwrite
        // them. The locks die with the process, however it ends.
        let locks = try paths.lock()
        defer { for lock in locks { lock.release() } }
        let (data, dataLine) = try trainingData(&configuration, resumed: resumed != nil)
        let trainer = try Trainer(configuration: configuration, data: data, resume: resumed, initial: initial)
        let recipe = configuration.recipe
        try writeStandardOutputLine(
            "stn-train: \(configuration.architecture.name), \(configuration.architecture.parameterCount) parameters, recipe \(recipe.name): \(recipe.summary)"
        )
        try writeStandardOutputLine(
            dataLine(trainer) + "; seed \(configuration.seed), \(configuration.threads) threads")
        if data.ignoredCount > 0, let example = data.ignoredExample {
            try writeStandardOutputLine(
                "  note: \(data.ignoredCount) files below the class folders are not PNG or PGM and are left out (e.g. \(example))"
            )
        }
        if let resumed {
            try writeStandardOutputLine(
                "  resuming from \(resume!) at epoch \(resumed.epoch + 1), batch \(resumed.batch + 1)")
        }
        try writeStandardOutputLine(
            "  writing \(paths.weights), \(paths.log), \(paths.plot), \(paths.checkpoint), \(paths.confusion)")
        // --tensorboard, --keep (docs/training.md, "Watching training").
        let tensorBoard = try tensorboard.map { try TensorBoardLog(directory: $0) }
        if let tensorBoard { try writeStandardOutputLine("  TensorBoard events: \(tensorBoard.writer.path)") }
        let kept = KeptWeights(rawValue: keep)!
        var bestParameters: [Float]?

        let progress = ProgressPrinter(quiet: quiet)
        Interrupt.install()
        do {
            try trainer.run(
                events: { event in
                    switch event {
                    case .batch(let p): progress.batch(p)
                    case .evaluation: break
                    case .epoch(let record): progress.epoch(record, total: recipe.epochs)
                    }
                }, shouldStop: { Interrupt.requested || progress.failure != nil },
                checkpoint: { state in
                    try Checkpoint.write(state, configuration: configuration, to: paths.checkpoint)
                    try TrainingLog.write(state.history, to: paths.log)
                    try TrainingPlot.write(
                        state.history, title: "\(configuration.architecture.name), recipe \(recipe.name)",
                        to: paths.plot)
                    try tensorBoard?.write(state.history.last!, trainer: trainer)
                    if kept == .best, KeptWeights.lastIsBest(state.history) {
                        try Self.keptWeightFile(trainer, kept).write(to: paths.weights)
                        bestParameters = state.parameters
                    }
                })
        } catch {
            progress.finishLine()
            throw error
        }
        progress.finishLine()
        // Standard output failed (a full disk): the run ends with that error.
        if let failure = progress.failure { throw failure }
        if Interrupt.requested && !trainer.isFinished {
            try Checkpoint.write(trainer.state, configuration: configuration, to: paths.checkpoint)
            try writeStandardOutputLine(
                "interrupted at epoch \(trainer.state.epoch + 1), batch \(trainer.state.batch); checkpoint written to \(paths.checkpoint)"
            )
            try writeStandardOutputLine("resume with: stn-train --resume \(paths.checkpoint) --out \(paths.weights)")
            throw ExitCode(130)
        }
        // The log and plot again, so resuming a finished checkpoint regenerates them too.
        try TrainingLog.write(trainer.state.history, to: paths.log)
        try TrainingPlot.write(
            trainer.state.history, title: "\(configuration.architecture.name), recipe \(recipe.name)",
            to: paths.plot)
        try Self.finish(trainer, kept: kept, bestParameters: bestParameters, paths: paths)
    }
}
