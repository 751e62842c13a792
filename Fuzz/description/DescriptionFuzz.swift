// libFuzzer target: model descriptions (the layer-list text a weight file carries), from
// arbitrary bytes. Reading and shape checking must throw, never trap; a description that
// reads is also compiled into training and inference plans and run once on a zero frame,
// when it is small enough to do so quickly. tools/ci/fuzz builds and runs it.
// tools/ci/fuzz: -max_len=4096
import STNModel
import STNPlan

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDescription(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let architecture: Architecture
    do {
        architecture = try Architecture(parsing: text)
    } catch {
        _ = "\(error)"
        return 0
    }
    _ = architecture.summary()
    // Round trip: the text form reads back to the same model.
    guard (try? Architecture(parsing: architecture.modelDescription.text)) == architecture else {
        fatalError("the text form of a valid description does not read back to it")
    }
    let values = architecture.shapes.values.reduce(0) { $0 + $1.count }
    guard values <= 1 << 18, architecture.parameterCount <= 1 << 18 else { return 0 }
    let parameters = [Float](repeating: 0.01, count: ParameterLayout(architecture).total)
    for training in [false, true] {
        guard let plan = try? Plan(architecture, training: training) else { continue }
        parameters.withUnsafeBufferPointer { plan.load(parameters: $0.baseAddress!) }
        if let frame = training ? plan.makeTrainingFrame() : plan.frame {
            plan.forward(frame)
            if training { plan.backward(frame) }
        }
    }
    return 0
}
