import Foundation  // ProcessInfo
// swift-tools-version: 6.1
//
// stn-swift: a Spatial Transformer Network trainer and inference engine.
// One library target per concern; executables are thin command-line layers.
import PackageDescription

let environment = ProcessInfo.processInfo.environment
// -Ounchecked turns an index past the end or an inverted range into silent memory
// corruption instead of a trap. STN_CHECKED=1 builds release with -O, which keeps
// bounds and overflow checks at near-release speed: tools/test runs the suite both ways.
let checked = environment["STN_CHECKED"] == "1"
let optimise: SwiftSetting = .unsafeFlags([checked ? "-O" : "-Ounchecked", "-wmo"], .when(configuration: .release))

// The build does not depend on the build machine's CPU. On x86-64 the kernels
// (Sources/STNKernels) are compiled three times; a plan binds one copy's table of entry
// points (`KernelTable`) when it is built, chosen from CPUID (STNKernelSelection's ISA;
// STN_ISA=avx512|avx2|portable forces one):
//   - STNKernels itself, baseline x86-64 like everything else: the portable copy, which
//     multiplies then adds (without FMA, SIMD.addingProduct is a libm call per lane);
//   - STNKernelsAVX2 (-target-cpu haswell) and STNKernelsAVX512 (skylake-avx512, 16-lane
//     GEMM blocks: STN_AVX512), from the same files through the symlinked folders
//     Sources/STNKernelsAVX2 and Sources/STNKernelsAVX512. STN_FMA: use fused multiply-adds.
// The types their entry points take are STNKernelInterface's, compiled once and shared.
// STN_DISPATCH tells STNKernelSelection that the three copies are there.
// pku and invpcid are turned off: never emitted for this code, often hidden by hypervisors,
// so the start-up check need not require them.
// STN_TARGET_CPU=<cpu> instead builds everything for that CPU with one copy of the kernels
// and no choice (for experiments; docs/building.md).
let singleTargetCPU = environment["STN_TARGET_CPU"].flatMap { $0.isEmpty ? nil : $0 }
let avx512CPUs: Set<String> = [
    "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
    "icelake-server", "tigerlake", "sapphirerapids", "graniterapids", "emeraldrapids",
    "znver4", "znver5",
]

var speed: [SwiftSetting] = [optimise]
var kernelSettings: [SwiftSetting] = [optimise]
var selectionSettings: [SwiftSetting] = [optimise]
var kernelCopies: [Target.Dependency] = ["STNKernels"]
var kernelVariants: [Target] = []
if let singleTargetCPU {
    speed.append(.unsafeFlags(["-target-cpu", singleTargetCPU]))
    var defines: [SwiftSetting] = [.define("STN_FMA")]
    if avx512CPUs.contains(singleTargetCPU) { defines.append(.define("STN_AVX512")) }
    kernelSettings = speed + defines
    selectionSettings = speed + defines
} else {
    #if arch(x86_64)
        selectionSettings.append(.define("STN_DISPATCH"))
        kernelCopies += ["STNKernelsAVX512", "STNKernelsAVX2"]
        func variant(_ name: String, _ flags: [String], _ defines: [String]) -> Target {
            .target(
                name: name, dependencies: ["STNKernelInterface"], path: "Sources/\(name)",
                swiftSettings: [optimise, .unsafeFlags(flags)] + defines.map { .define($0) })
        }
        kernelVariants = [
            variant(
                "STNKernelsAVX512", ["-target-cpu", "skylake-avx512", "-Xcc", "-mno-pku", "-Xcc", "-mno-invpcid"],
                ["STN_FMA", "STN_AVX512"]),
            variant("STNKernelsAVX2", ["-target-cpu", "haswell", "-Xcc", "-mno-invpcid"], ["STN_FMA"]),
        ]
    #else
        kernelSettings.append(.define("STN_FMA"))  // aarch64: FMA is in the base ISA
    #endif
}

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
// Every tool reports failures the same way (one line, non-zero exit).
let commandLine: [Target.Dependency] = ["STNCommandLine", argumentParser]

let package = Package(
    name: "stn-swift",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "STNData", targets: ["STNData"]),
        .library(name: "STNModel", targets: ["STNModel"]),
        .library(name: "STNTrainer", targets: ["STNTrainer"]),
        .library(name: "STNEngine", targets: ["STNEngine"]),
        // The engine for C programs: libstn.a with stn.h (docs/building.md has the link line).
        .library(name: "stn", type: .static, targets: ["STNEngineC"]),
        .executable(name: "stn-data", targets: ["stn-data"]),
        .executable(name: "stn-train", targets: ["stn-train"]),
        .executable(name: "stn-infer", targets: ["stn-infer"]),
        .executable(name: "stn-bench", targets: ["stn-bench"]),
        .executable(name: "stn-report", targets: ["stn-report"]),
        .executable(name: "stn-convert", targets: ["stn-convert"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries from Debian: libhdf5-dev, zlib1g-dev and libpng-dev (tools/bootstrap installs them).
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // libpng's decoder behind a C function: libpng reports errors by longjmp, which must
        // not cross Swift frames, so the setjmp and every libpng call stay in C.
        .target(name: "CPNGReader", dependencies: ["CPNG"]),

        // Files, environment and processor count over POSIX, without Foundation (whose
        // loading would dominate stn-infer's start-up).
        .target(name: "STNSystem", swiftSettings: speed),
        // IDX files, MNIST, the RTS distortion and its PRNG; labelled training data (IDX
        // pairs, image folders, CSV lists) fitted to a model's frames.
        .target(name: "STNData", dependencies: ["CZlib", "STNSystem", "STNImage"], swiftSettings: speed),
        // PNG encoding, raster drawing and plots for previews, training curves, --explain;
        // reading PNG (libpng) and PGM inputs.
        .target(name: "STNImage", dependencies: ["CZlib", "CPNGReader", "STNSystem"], swiftSettings: speed),
        // TensorBoard event files (record framing, CRC-32C, Event and Summary messages by
        // hand): what stn-train --tensorboard writes.
        .target(name: "STNTensorBoard", dependencies: ["STNImage", "STNSystem"], swiftSettings: speed),
        // The two architectures and the weight-file format, read by a small built-in HDF5
        // reader so inference never loads libhdf5.
        .target(name: "STNModel", dependencies: ["STNSystem"], swiftSettings: speed),
        // libhdf5 bindings: writing weight files and checkpoints, reading any HDF5 file.
        .target(name: "STNLibHDF5", dependencies: ["STNModel", "STNSystem", "CHDF5"], swiftSettings: speed),
        // The processor's CPUID and XCR0 registers, for choosing the kernels' ISA.
        .target(name: "CPUID"),
        // What a kernel call takes (the shapes, their weight packings) and the table of the
        // kernels' entry points, compiled once and shared by every copy of the kernels; and
        // the few kernels that are not compiled per ISA (log-softmax, softmax).
        .target(name: "STNKernelInterface", swiftSettings: speed),
        // SIMD compute kernels shared by trainer and engine (raw pointers, no allocation),
        // compiled once per ISA (above): each copy's one public symbol is its `kernelTable`.
        .target(name: "STNKernels", dependencies: ["STNKernelInterface"], swiftSettings: kernelSettings),
        // The choice of ISA (CPUID, STN_ISA) and the kernel table of each ISA this binary carries.
        .target(
            name: "STNKernelSelection", dependencies: ["CPUID", "STNKernelInterface"] + kernelCopies,
            swiftSettings: selectionSettings),
        // A model's layer list compiled into steps over named tensors, forward and backward,
        // with the inference arena planned by buffer lifetime: what engine and trainer run.
        .target(
            name: "STNPlan", dependencies: ["STNModel", "STNKernelInterface", "STNKernelSelection"],
            swiftSettings: speed),
        // Forward/backward passes, SGD, recipes, checkpoints.
        .target(
            name: "STNTrainer",
            dependencies: ["STNSystem", "STNData", "STNModel", "STNLibHDF5", "STNKernelInterface", "STNPlan"],
            swiftSettings: speed),
        // Fixed-shape, zero-allocation inference.
        .target(
            name: "STNEngine", dependencies: ["STNModel", "STNKernelInterface", "STNPlan", "STNSystem"],
            swiftSettings: speed),

        // The C API: stn.h (CSTN) implemented over the engine with @_cdecl (STNEngineC).
        .target(name: "CSTN"),
        .target(name: "STNEngineC", dependencies: ["CSTN", "STNEngine"], swiftSettings: speed),

        // Counts heap allocations by interposing glibc's malloc: linked only into stn-bench
        // and the engine tests, to prove the engine allocates nothing per frame.
        .target(name: "AllocationCounter"),

        // ONNX's message schema (the subset in onnx.proto) as SwiftProtobuf messages, for
        // stn-convert's importer and exporter; onnx.pb.swift is generated by
        // tools/fixtures/generate-onnx-proto and committed.
        .target(
            name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["onnx.proto"]),
        // stn-convert's ONNX importer and exporter: a fixed-shape ONNX graph onto the layer list
        // and back. It reads untrusted bytes and is not hot, so it keeps bounds checks (no
        // -Ounchecked).
        .target(
            name: "STNONNX",
            dependencies: [
                "STNModel", "STNEngine", "ONNXProto", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),

        // One printf conversion of one number, without Swift's run-time-cast variadic path.
        .target(name: "CFormat"),
        .target(name: "STNCommandLine", dependencies: ["CFormat", argumentParser], swiftSettings: speed),
        .executableTarget(
            name: "stn-convert", dependencies: ["STNONNX", "STNModel", "STNLibHDF5", "STNSystem"] + commandLine,
            swiftSettings: speed),
        .executableTarget(
            name: "stn-data", dependencies: ["STNData", "STNImage", "STNSystem"] + commandLine, swiftSettings: speed),
        .executableTarget(
            name: "stn-train",
            dependencies: [
                "STNTrainer", "STNKernelSelection", "STNPlan", "STNData", "STNModel", "STNLibHDF5", "STNImage",
                "STNSystem", "STNTensorBoard",
            ] + commandLine,
            swiftSettings: speed),
        // Built for one-image-per-process use: no libhdf5 and no full Foundation in its
        // dependencies, and a fully static executable (Swift runtime, the libraries the static
        // FoundationEssentials needs, libc, zlib; no PIE): no dynamic loader, no shared
        // libraries to map and no symbol lookups at start, so a process that answers one
        // image takes a few milliseconds (docs/building.md, "Start-up").
        .executableTarget(
            name: "stn-infer",
            dependencies: [
                "STNEngine", "STNKernelSelection", "STNPlan", "STNData", "STNModel", "STNImage", "STNSystem",
            ] + commandLine,
            swiftSettings: speed,
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-static-executable", "-Xlinker", "-l_FoundationCollections", "-Xlinker", "-l_FoundationCShims",
                        "-Xlinker", "-lswiftSynchronization", "-Xlinker", "-no-pie",
                    ], .when(platforms: [.linux]))
            ]),
        .executableTarget(
            name: "stn-report",
            dependencies: ["STNEngine", "STNKernelSelection", "STNData", "STNModel", "STNImage", "STNSystem"]
                + commandLine,
            swiftSettings: speed),
        .executableTarget(
            name: "stn-bench",
            dependencies: [
                "STNEngine", "STNTrainer", "STNKernelSelection", "STNPlan", "STNData", "STNModel", "STNSystem",
                "AllocationCounter",
            ] + commandLine,
            swiftSettings: speed),

        // Shared by the test targets: fixture paths, MNIST, temporary directories, tolerances.
        .target(name: "STNTestSupport", path: "Tests/STNTestSupport"),
        .testTarget(name: "STNSystemTests", dependencies: ["STNSystem"], swiftSettings: speed),
        // Range checks, and the built tools run as a user runs them (each failure one line).
        .testTarget(
            name: "STNCommandLineTests",
            dependencies: [
                "STNTestSupport", "STNCommandLine", "STNSystem", "STNImage", "STNModel", "STNTensorBoard", "STNData",
                argumentParser,
            ],
            swiftSettings: speed),
        .testTarget(
            name: "STNDataTests", dependencies: ["STNTestSupport", "STNData", "STNImage"], swiftSettings: speed),
        .testTarget(
            name: "STNImageTests", dependencies: ["STNTestSupport", "STNImage", "CZlib"], swiftSettings: speed),
        .testTarget(
            name: "STNTensorBoardTests", dependencies: ["STNTestSupport", "STNTensorBoard", "STNImage"],
            swiftSettings: speed),
        .testTarget(
            name: "STNModelTests", dependencies: ["STNTestSupport", "STNModel", "STNLibHDF5"], swiftSettings: speed),
        .testTarget(
            name: "STNONNXTests",
            dependencies: [
                "STNTestSupport", "STNONNX", "ONNXProto", "STNModel", "STNLibHDF5", "STNEngine", "STNTrainer",
            ],
            swiftSettings: speed),
        .testTarget(
            name: "STNKernelsTests",
            dependencies: ["STNKernelInterface", "STNKernelSelection", "STNKernels", "CPUID"],
            swiftSettings: speed),
        .testTarget(
            name: "STNPlanTests",
            dependencies: [
                "STNTestSupport", "STNPlan", "STNModel", "STNTrainer", "STNEngine", "STNData", "STNKernelInterface",
                "STNKernelSelection", "STNLibHDF5",
            ],
            swiftSettings: speed),
        .testTarget(
            name: "STNTrainerTests",
            dependencies: [
                "STNTestSupport", "STNTrainer", "STNData", "STNModel", "STNLibHDF5", "STNKernelInterface",
                "STNKernelSelection",
            ],
            swiftSettings: speed),
        .testTarget(
            name: "STNEngineTests",
            dependencies: [
                "STNTestSupport", "STNEngine", "STNEngineC", "CSTN", "STNTrainer", "STNKernelInterface",
                "STNKernelSelection", "STNData",
                "STNModel", "STNLibHDF5", "AllocationCounter",
            ],
            swiftSettings: speed),
    ] + kernelVariants,
    swiftLanguageModes: [.v6]
)

// package-benchmark benchmarks (Benchmarks/), only when asked for, so the everyday build
// and CI never resolve the benchmark package and its malloc interposer:
//     STN_BENCHMARKS=1 swift package benchmark
if environment["STN_BENCHMARKS"] == "1" {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: ["STNEngine", "STNModel", "STNTrainer", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/EngineBenchmarks",
            swiftSettings: speed,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}
