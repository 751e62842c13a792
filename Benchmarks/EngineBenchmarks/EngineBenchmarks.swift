import Benchmark
import STNEngine
import STNModel
import STNTrainer

/// One frame through the engine, for every built-in model, with package-benchmark's malloc
/// counts (which must read zero) and wall-clock percentiles.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput], maxDuration: .seconds(3))
    for architecture in Architecture.presets {
        Benchmark("\(architecture.name) frame") { benchmark in
            let engine = try Engine(weights: Initializer.pytorchDefault(architecture, seed: 1), threads: 1)
            var frame = [UInt8](repeating: 0, count: engine.frameCount)
            for i in frame.indices { frame[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
            var result = InferenceResult()
            benchmark.startMeasurement()
            frame.withUnsafeBufferPointer { pixels in
                for _ in benchmark.scaledIterations { engine.infer(pixels: pixels.baseAddress!, into: &result) }
            }
            blackHole(result)
        }
    }
}
