import ElideFederated
import ElideFormats
import Foundation

/// The digests of one client's training and test sets, stored as artifacts.
struct ClientDataDigests: Sendable, Equatable {
    var client: Int
    var train: ArtifactDigest
    var test: ArtifactDigest
}

/// The payload of one `federated` task, in `BinaryWriter` form: the run's shared settings, the data
/// artifacts the task reads and the work.
struct FederatedTask: Sendable, Equatable {
    enum Body: Sendable, Equatable {
        /// Loads the data set, splits it over the clients and evaluates the initial model on each test set.
        case partition(dataset: StandardImageDataset, plan: ClientDataPlan)
        case work(FederatedWork)
    }

    /// Identifies the run, so a worker never mixes up client state of two jobs that share a job id (as
    /// in-process runs do).
    var runKey: String
    var environment: FederatedEnvironment
    /// The data sets of the clients the work reads, in client order.
    var data: [ClientDataDigests]
    var body: Body

    static let magic = "elide-federated-task-1"

    func encoded() throws -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(Self.magic)
        writer.write(runKey)
        writer.write(bytes: Array(try FederatedCoding.encoder.encode(environment)))
        writer.write(data.count)
        for entry in data {
            writer.write(entry.client)
            writer.write(entry.train.hex)
            writer.write(entry.test.hex)
        }
        switch body {
        case .partition(let dataset, let plan):
            writer.write(0)
            writer.write(dataset.rawValue)
            writer.write(bytes: Array(try FederatedCoding.encoder.encode(plan)))
        case .work(let work):
            writer.write(1)
            FederatedCoding.write(work, into: &writer)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> FederatedTask {
        do {
            var reader = BinaryReader(bytes)
            guard try reader.string("magic") == magic else {
                throw JobDriverError("the payload is not a \(magic) task")
            }
            let runKey = try reader.string("run key")
            let environment = try JSONDecoder().decode(
                FederatedEnvironment.self, from: Data(try reader.bytes("environment")))
            var data: [ClientDataDigests] = []
            for _ in 0..<(try reader.count("data", maximum: 1_000_000)) {
                let client = try reader.int("data client")
                guard let train = ArtifactDigest(hex: try reader.string("train digest")),
                    let test = ArtifactDigest(hex: try reader.string("test digest"))
                else { throw JobDriverError("client \(client) has an invalid data digest") }
                data.append(ClientDataDigests(client: client, train: train, test: test))
            }
            let body: Body
            switch try reader.int("body") {
            case 0:
                let name = try reader.string("dataset")
                guard let dataset = StandardImageDataset(rawValue: name) else {
                    throw JobDriverError("unknown data set '\(name)'")
                }
                let plan = try JSONDecoder().decode(ClientDataPlan.self, from: Data(try reader.bytes("plan")))
                body = .partition(dataset: dataset, plan: plan)
            case 1:
                body = .work(try FederatedCoding.readWork(&reader))
            case let other:
                throw JobDriverError("unknown task body \(other)")
            }
            try reader.finish("federated task")
            return FederatedTask(runKey: runKey, environment: environment, data: data, body: body)
        } catch {
            throw JobDriverError(
                "federated task payload of \(bytes.count) bytes is not valid: \(error); the coordinator and the "
                    + "worker may run different builds")
        }
    }
}

/// The output of one `federated` task.
struct FederatedTaskOutput: Sendable, Equatable {
    struct ClientData: Sendable, Equatable {
        /// `LabeledImageSet.serialized()` of the client's training and test sets.
        var train: [UInt8]
        var test: [UInt8]
        /// The initial model on the test set.
        var initialAccuracy: ClientAccuracy
    }

    enum Body: Sendable, Equatable {
        case partition([ClientData])
        case result(FederatedResult)
    }

    /// Wall-clock seconds since 1970 on the worker when the task started and finished; only the report's
    /// timings use them.
    var startedAt: Double
    var finishedAt: Double
    /// Client steps the worker applied again because it did not hold the client's model; depends on
    /// placement, so only the report's timings show it.
    var replayedSteps = 0
    var body: Body

    func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(startedAt)
        writer.write(finishedAt)
        writer.write(replayedSteps)
        switch body {
        case .partition(let clients):
            writer.write(0)
            writer.write(clients.count)
            for client in clients {
                writer.write(bytes: client.train)
                writer.write(bytes: client.test)
                writer.write(client.initialAccuracy.correct)
                writer.write(client.initialAccuracy.count)
            }
        case .result(let result):
            writer.write(1)
            FederatedCoding.write(result, into: &writer)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], task index: UInt64) throws -> FederatedTaskOutput {
        do {
            var reader = BinaryReader(bytes)
            let startedAt = try reader.double("startedAt")
            let finishedAt = try reader.double("finishedAt")
            let replayedSteps = try reader.int("replayedSteps")
            let body: Body
            switch try reader.int("body") {
            case 0:
                var clients: [ClientData] = []
                for _ in 0..<(try reader.count("clients", maximum: 1_000_000)) {
                    let train = try reader.bytes("train set")
                    let test = try reader.bytes("test set")
                    let accuracy = ClientAccuracy(
                        correct: try reader.int("initial correct"), count: try reader.int("initial count"))
                    clients.append(ClientData(train: train, test: test, initialAccuracy: accuracy))
                }
                body = .partition(clients)
            case 1:
                body = .result(try FederatedCoding.readResult(&reader))
            case let other:
                throw JobDriverError("unknown output body \(other)")
            }
            try reader.finish("federated task output")
            return FederatedTaskOutput(
                startedAt: startedAt, finishedAt: finishedAt, replayedSteps: replayedSteps, body: body)
        } catch {
            throw JobDriverError(
                "federated task \(index) returned \(bytes.count) bytes that are not a valid result: \(error); the "
                    + "coordinator and the worker may run different builds")
        }
    }
}
