import ArgumentParser
import Foundation
import STNCommandLine
import STNModel
import STNSystem

/// The options every report shares: models, data, output figure, threads.
struct ReportOptions: ParsableArguments {
    @Option(name: .customLong("weights"), help: "A weight file; repeat for several models.") var weights: [String] = []
    @Option(help: "MNIST directory (default: $STN_DATA, else ./Data/mnist).") var data: String?
    @Option(help: "Output PNG.") var out: String
    @Option(parsing: .unconditional, help: "Threads.") var threads: Int = max(
        1, ProcessInfo.processInfo.activeProcessorCount)

    func validate() throws {
        guard !weights.isEmpty else { throw ValidationError("give at least one --weights FILE") }
        try require(threads, in: 1 ... maximumThreads, for: "--threads")
    }

    /// Each weight file with its path, read and checked.
    func models() throws -> [(path: String, file: WeightFile)] {
        try weights.map { ($0, try WeightFile.read($0)) }
    }

    /// A short legend name: the model kind and the file name.
    static func name(_ path: String) -> String { (path as NSString).lastPathComponent }
}
