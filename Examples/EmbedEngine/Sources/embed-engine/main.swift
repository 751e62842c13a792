// Embeds the stn-swift engine: classifies one frame of an IDX image file.
//
//     embed-engine WEIGHTS.h5 IMAGES-idx3-ubyte INDEX
//
// The engine is made from the weight file's bytes (as a program that carries its weights
// would), checked against an engine made from the path, and prints one line:
// "frame INDEX: digit D p P theta [...]".
import Foundation
import STNData
import STNEngine

func classify(_ arguments: [String]) throws -> String {
    guard arguments.count == 3, let index = Int(arguments[2]), index >= 0 else {
        throw EngineError("usage: embed-engine WEIGHTS.h5 IMAGES-idx3-ubyte INDEX")
    }
    let (weightsPath, imagesPath) = (arguments[0], arguments[1])
    guard let bytes = FileManager.default.contents(atPath: weightsPath) else {
        throw EngineError("\(weightsPath): cannot read the file")
    }
    // One thread: one frame needs no worker plans. An engine runs one frame at a time; a
    // program classifying on several threads makes one engine per thread.
    let engine = try Engine(weightFileBytes: [UInt8](bytes), name: weightsPath, threads: 1)
    let images = try IDX.readImages(at: imagesPath)
    let shape = engine.inputShape
    guard shape.channels == 1, images.rows == shape.height, images.columns == shape.width else {
        throw EngineError("\(imagesPath): images are \(images.rows)x\(images.columns), the model takes \(shape)")
    }
    guard index < images.count else { throw EngineError("\(imagesPath): has \(images.count) images, no \(index)") }

    var result = InferenceResult()
    Array(images.image(index)).withUnsafeBufferPointer { engine.infer(pixels: $0.baseAddress!, into: &result) }
    guard result.isFinite else { throw EngineError("frame \(index): non-finite output") }

    var fromPath = InferenceResult()
    let engineFromPath = try Engine(weightsAt: weightsPath, threads: 1)
    Array(images.image(index)).withUnsafeBufferPointer {
        engineFromPath.infer(pixels: $0.baseAddress!, into: &fromPath)
    }
    guard fromPath == result else { throw EngineError("the engines from bytes and from the path disagree") }

    var line = "frame \(index): digit \(result.digit) p " + String(format: "%.4f", result.probability)
    if result.hasTheta {
        line += " theta [" + result.thetaValues.map { String(format: "%.3f", $0) }.joined(separator: " ") + "]"
    }
    return line
}

do {
    print(try classify(Array(CommandLine.arguments.dropFirst())))
} catch {
    FileHandle.standardError.write(Data("embed-engine: error: \(error)\n".utf8))
    exit(1)
}
