import AllocationCounter
import ArgumentParser
import Dispatch
import Foundation
import STNCommandLine
import STNData
import STNEngine
import STNKernelSelection
import STNModel
import STNPlan
import STNSystem
import STNTrainer

@main
struct BenchCommand: ParsableCommand {
    static func main() { runTool(BenchCommand.self, name: "stn-bench", prepare: { try ISA.selectFromEnvironment() }) }

    static let configuration = CommandConfiguration(
        commandName: "stn-bench",
        abstract: "Measure the engine's latency per frame and the trainer's throughput.",
        subcommands: [InferBench.self, TrainBench.self],
        defaultSubcommand: InferBench.self)
}

/// Loads weights from a file, or PyTorch-default random weights for a model name.
func benchmarkWeights(file: String?, model: String) throws -> ModelWeights {
    if let file { return try WeightFile.read(file).weights }
    guard let architecture = Architecture.preset(named: model) else {
        throw ValidationError("--model must be one of \(Architecture.presetNames.joined(separator: ", "))")
    }
    return Initializer.pytorchDefault(architecture, seed: 1)
}

struct InferBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Latency per frame (one core), throughput on all cores, allocations, time per step of the plan.",
        discussion: """
            Warms up, then runs --frames frames one at a time on one thread, timing each: min, p50, p90, p99 and max in microseconds; then the same frames spread over --threads cores. Frames are the fixed RTS test set if MNIST is found (--data or $STN_DATA), else random pixels (the work per frame is the same). Heap allocations during the timed frames are counted by interposing malloc (AllocationCounter).
            """)

    @Option(help: "Weight file (default: random weights for --model).") var weights: String?
    @Option(help: "Model for random weights: st-cnn, cnn or pytorch-tutorial.") var model: String = "st-cnn"
    @Option(parsing: .unconditional, help: "Timed frames.") var frames: Int = 10_000
    @Option(parsing: .unconditional, help: "Threads for the all-cores figure.") var threads: Int = max(
        1, ProcessInfo.processInfo.activeProcessorCount)
    @Option(help: "MNIST directory (default: $STN_DATA, else ./Data/mnist).") var data: String?
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(
        name: .customLong("max-memory"),
        help: ArgumentHelp(
            "Refuse a model that needs more memory than this (e.g. 2G, 512M); default: the memory available.",
            valueName: "SIZE"))
    var maxMemory: String?

    func validate() throws {
        // Each timed frame keeps its latency: 10 million frames is 80 MB of them.
        try require(frames, in: 10 ... 10_000_000, for: "--frames")
        try require(threads, in: 1 ... maximumThreads, for: "--threads")
    }

    func run() throws {
        try MemoryBudget.setMaximum(option: maxMemory)
        try bench()
    }

    func bench() throws {
        let w = try benchmarkWeights(file: weights, model: model)
        let engine = try Engine(weights: w, threads: threads)
        let pool = 1000
        let frameCount = engine.frameCount
        let input = engine.inputShape
        var pixels: [UInt8]
        var source = "random pixels"
        if input.channels == 1, let directory = try? MNIST.resolveDirectory(data),
            let test = try? MNIST.load(split: .test, directory: directory)
        {
            if input.height == 42 && input.width == 42 {
                pixels = RTSDistortion(seed: 1).distort(test.images.prefix(pool), threads: threads).pixels
                source = "RTS test images"
            } else if input.height == 28 && input.width == 28 {
                pixels = test.images.prefix(pool).pixels
                source = "MNIST test digits"
            } else {
                pixels = []
            }
        } else {
            pixels = []
        }
        if pixels.isEmpty {
            var random = PRNG(seed: 5)
            pixels = (0 ..< pool * frameCount).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            source = "random pixels"
        }
        var result = InferenceResult()
        var latencies = [UInt64](repeating: 0, count: frames)
        let stepNames = engine.stepNames
        var stepTimes = [UInt64](repeating: 0, count: stepNames.count)
        var allocations: UInt64 = 0
        pixels.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            for i in 0 ..< 200 { engine.infer(pixels: base + (i % pool) * frameCount, into: &result) }
            stn_allocations_reset()
            for i in 0 ..< frames {
                let start = DispatchTime.now().uptimeNanoseconds
                engine.infer(pixels: base + (i % pool) * frameCount, into: &result)
                latencies[i] = DispatchTime.now().uptimeNanoseconds - start
            }
            allocations = stn_allocations_count()
            stepTimes.withUnsafeMutableBufferPointer { times in
                for i in 0 ..< min(frames, 2000) {
                    engine.infer(pixels: base + (i % pool) * frameCount, into: &result, stepTimes: times.baseAddress!)
                }
            }
        }
        let stepFrames = Double(min(frames, 2000))
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        let total = Double(latencies.reduce(0, +)) / 1e9
        let oneCore = Double(frames) / total

        // All cores: the batch API over every frame of the pool, repeated.
        var results = [InferenceResult](repeating: InferenceResult(), count: pool)
        let repeats = max(1, frames / pool)
        let start = DispatchTime.now().uptimeNanoseconds
        pixels.withUnsafeBufferPointer { buffer in
            for _ in 0 ..< repeats {
                engine.inferBatch(pixels: buffer.baseAddress!, count: pool, results: &results, threads: threads)
            }
        }
        let allCores = Double(repeats * pool) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        let mflop = Double(engine.architecture.multiplyAdds) * 2 / 1e6
        let stepMicroseconds = stepTimes.map { Double($0) / stepFrames / 1000 }

        if json {
            let steps = zip(stepNames, stepMicroseconds).map { String(format: "\"%@\":%.2f", $0.0, $0.1) }
            try writeStandardOutputLine(
                String(
                    format:
                        "{\"model\":\"%@\",\"frames\":%d,\"min_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f,\"fps_one_core\":%.0f,\"fps_all_cores\":%.0f,\"threads\":%d,\"isa\":\"%@\",\"heap_allocations_per_frame\":%.4f,\"arena_bytes\":%d,\"step_us\":{%@}}",
                    engine.architecture.name, frames, percentile(0), percentile(0.5), percentile(0.9),
                    percentile(0.99), percentile(1), oneCore, allCores, threads, ISA.active.rawValue,
                    Double(allocations) / Double(frames),
                    engine.arenaBytes, steps.joined(separator: ",")))
            return
        }
        try writeStandardOutputLine(
            "stn-bench infer: \(engine.architecture.name), \(weights ?? "random weights"), \(frames) frames of \(source) after 200 warm-up frames"
        )
        try writeStandardOutputLine(
            "  kernels: \(ISA.active) (available here: \(ISA.available.map(\.rawValue).joined(separator: ", ")))")
        try writeStandardOutputLine(
            String(
                format: "  latency (one core, us): min %.1f  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f", percentile(0),
                percentile(0.5), percentile(0.9), percentile(0.99), percentile(1)))
        try writeStandardOutputLine(
            String(
                format: "  throughput: %.0f frames/s on one core, %.0f frames/s on %d threads", oneCore, allCores,
                threads))
        try writeStandardOutputLine(
            String(
                format: "  arithmetic: %.1f MFLOP/frame -> %.1f GFLOP/s at p50", mflop,
                mflop * 1e6 / (percentile(0.5) * 1e-6) / 1e9))
        try writeStandardOutputLine(
            String(
                format: "  heap allocations: %llu in %d frames (%.4f per frame); arena %d KiB (tensors %d KiB)",
                allocations, frames, Double(allocations) / Double(frames), engine.arenaBytes / 1024,
                engine.tensorBytes / 1024))
        try writeStandardOutputLine("  per step (us):")
        let width = (stepNames.map(\.count).max() ?? 0) + 2
        for (name, us) in zip(stepNames, stepMicroseconds) {
            try writeStandardOutputLine(
                "    " + name + String(repeating: " ", count: width - name.count) + String(format: "%8.2f", us))
        }
    }
}

struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput: images/s of forward + backward at a batch size.",
        discussion:
            "Random images and labels; one warm-up batch, then --batches timed batches (the data pipeline and optimiser step are excluded: they cost under 2%)."
    )

    @Option(help: "Model: st-cnn, cnn or pytorch-tutorial.") var model: String = "st-cnn"
    @Option(help: "Weight file whose model to train instead (any stn-train or stn-convert output).")
    var weights: String?
    @Option(help: "Model description to train instead (docs/model-format.md).") var architecture: String?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images per batch.") var batchSize: Int =
        256
    @Option(parsing: .unconditional, help: "Threads.") var threads: Int = max(
        1, ProcessInfo.processInfo.activeProcessorCount)
    @Option(parsing: .unconditional, help: "Timed batches.") var batches: Int = 10
    @Option(
        name: .customLong("max-memory"),
        help: ArgumentHelp(
            "Refuse a model that needs more memory than this (e.g. 2G, 512M); default: the memory available.",
            valueName: "SIZE"))
    var maxMemory: String?

    func validate() throws {
        guard weights == nil || architecture == nil else {
            throw ValidationError("give --weights or --architecture, not both")
        }
        guard Architecture.preset(named: model) != nil else {
            throw ValidationError("--model must be one of \(Architecture.presetNames.joined(separator: ", "))")
        }
        try require(batchSize, in: 1 ... Recipe.maximumBatchSize, for: "--batch-size")
        try require(threads, in: 1 ... maximumThreads, for: "--threads")
        try require(batches, in: 1 ... 100_000, for: "--batches")
    }

    func run() throws {
        try MemoryBudget.setMaximum(option: maxMemory)
        let chosen = try chosenArchitecture()
        let rate = try benchmarkTraining(
            architecture: chosen, batch: batchSize, threads: threads, iterations: batches)
        try writeStandardOutputLine(
            String(
                format: "stn-bench train: %@, batch %d, %d threads, %@ kernels: %.0f images/s (forward + backward)",
                chosen.name, batchSize, threads, ISA.active.rawValue, rate))
    }

    /// --weights' model, --architecture's, or the preset --model names.
    func chosenArchitecture() throws -> Architecture {
        if let weights { return try WeightFile.read(weights).architecture }
        guard let architecture else { return Architecture.preset(named: model)! }
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
}
