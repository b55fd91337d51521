import ElideFederated
import Foundation

/// Binary forms of the federated works and results, for task payloads and outputs.
enum FederatedCoding {
    /// Sorted keys, so equal values always encode to equal bytes.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    // MARK: - Works

    static func write(_ work: FederatedWork, into writer: inout BinaryWriter) {
        switch work {
        case .client(let client, let history, let step, let followUp):
            writer.write(0)
            writer.write(client)
            writer.write(history.count)
            for entry in history { write(entry, into: &writer) }
            write(step, into: &writer)
            switch followUp {
            case .upload(let cut, let sample):
                writer.write(0)
                writer.write(cut)
                writer.write(sample.seed)
                writer.write(sample.count)
            case .evaluate:
                writer.write(1)
            }
        case .server(let round, let cut, let head, let headSeed, let trainingSeed, let uploads):
            writer.write(1)
            writer.write(round)
            writer.write(cut)
            writer.write(head != nil)
            if let head { writer.write(bytes: head) }
            writer.write(headSeed)
            writer.write(trainingSeed)
            writer.write(uploads.count)
            for upload in uploads { write(upload, into: &writer) }
        case .trainGlobal(let client, let round, let parameters, let seed):
            writer.write(2)
            writer.write(client)
            writer.write(round)
            writer.write(parameters)
            writer.write(seed)
        case .evaluateGlobal(let parameters, let clients):
            writer.write(3)
            writer.write(parameters)
            writer.write(clients)
        }
    }

    static func readWork(_ reader: inout BinaryReader) throws -> FederatedWork {
        switch try reader.int("work") {
        case 0:
            let client = try reader.int("client")
            var history: [ClientStep] = []
            for _ in 0..<(try reader.count("history", maximum: 1_000_000)) { history.append(try readStep(&reader)) }
            let step = try readStep(&reader)
            let followUp: ClientFollowUp
            switch try reader.int("follow-up") {
            case 0:
                let cut = try reader.int("cut")
                followUp = .upload(
                    cut: cut,
                    sample: UploadSample(seed: try reader.uint64("upload seed"), count: try reader.int("upload count")))
            case 1:
                followUp = .evaluate
            case let other:
                throw JobDriverError("unknown follow-up \(other)")
            }
            return .client(client: client, history: history, step: step, followUp: followUp)
        case 1:
            let round = try reader.int("round")
            let cut = try reader.int("cut")
            let head = try reader.bool("has head") ? try reader.bytes("head") : nil
            let headSeed = try reader.uint64("head seed")
            let trainingSeed = try reader.uint64("training seed")
            var uploads: [ClientUpload] = []
            for _ in 0..<(try reader.count("uploads", maximum: 1_000_000)) { uploads.append(try readUpload(&reader)) }
            return .server(
                round: round, cut: cut, head: head, headSeed: headSeed, trainingSeed: trainingSeed, uploads: uploads)
        case 2:
            let client = try reader.int("client")
            let round = try reader.int("round")
            let parameters = try reader.floats("parameters")
            return .trainGlobal(client: client, round: round, parameters: parameters, seed: try reader.uint64("seed"))
        case 3:
            let parameters = try reader.floats("parameters")
            return .evaluateGlobal(parameters: parameters, clients: try reader.ints("clients"))
        case let other:
            throw JobDriverError("unknown work \(other)")
        }
    }

    static func write(_ step: ClientStep, into writer: inout BinaryWriter) {
        switch step {
        case .train(let round, let seed):
            writer.write(0)
            writer.write(round)
            writer.write(seed)
        case .distill(let round, let cut, let seed, let upload, let teacherLogits):
            writer.write(1)
            writer.write(round)
            writer.write(cut)
            writer.write(seed)
            writer.write(upload.seed)
            writer.write(upload.count)
            writer.write(teacherLogits)
        }
    }

    static func readStep(_ reader: inout BinaryReader) throws -> ClientStep {
        switch try reader.int("step") {
        case 0:
            let round = try reader.int("round")
            return .train(round: round, seed: try reader.uint64("seed"))
        case 1:
            let round = try reader.int("round")
            let cut = try reader.int("cut")
            let seed = try reader.uint64("seed")
            let upload = UploadSample(seed: try reader.uint64("upload seed"), count: try reader.int("upload count"))
            return .distill(
                round: round, cut: cut, seed: seed, upload: upload, teacherLogits: try reader.floats("teacher logits"))
        case let other:
            throw JobDriverError("unknown client step \(other)")
        }
    }

    static func write(_ upload: ClientUpload, into writer: inout BinaryWriter) {
        writer.write(upload.client)
        writer.write(upload.width)
        writer.write(upload.representations)
        writer.write(upload.logits)
        writer.write(upload.labels)
    }

    static func readUpload(_ reader: inout BinaryReader) throws -> ClientUpload {
        let client = try reader.int("client")
        let width = try reader.int("width")
        let representations = try reader.floats("representations")
        let logits = try reader.floats("logits")
        return ClientUpload(
            client: client, representations: representations, width: width, logits: logits,
            labels: try reader.ints("labels"))
    }

    // MARK: - Results

    static func write(_ result: FederatedResult, into writer: inout BinaryWriter) {
        switch result {
        case .upload(let upload):
            writer.write(0)
            write(upload, into: &writer)
        case .accuracy(let client, let accuracy):
            writer.write(1)
            writer.write(client)
            writer.write(accuracy.correct)
            writer.write(accuracy.count)
        case .server(let head, let logits):
            writer.write(2)
            writer.write(bytes: head)
            writer.write(logits)
        case .trained(let update):
            writer.write(3)
            writer.write(update.client)
            writer.write(update.parameters)
            writer.write(update.sampleCount)
        case .accuracies(let values):
            writer.write(4)
            writer.write(values.count)
            for value in values {
                writer.write(value.client)
                writer.write(value.accuracy.correct)
                writer.write(value.accuracy.count)
            }
        }
    }

    static func readResult(_ reader: inout BinaryReader) throws -> FederatedResult {
        switch try reader.int("result") {
        case 0:
            return .upload(try readUpload(&reader))
        case 1:
            let client = try reader.int("client")
            let correct = try reader.int("correct")
            return .accuracy(client: client, ClientAccuracy(correct: correct, count: try reader.int("count")))
        case 2:
            let head = try reader.bytes("head")
            return .server(head: head, logits: try reader.floats("logits"))
        case 3:
            let client = try reader.int("client")
            let parameters = try reader.floats("parameters")
            return .trained(
                FedAvgAggregator.Update(client: client, parameters: parameters, sampleCount: try reader.int("samples")))
        case 4:
            var values: [(client: Int, accuracy: ClientAccuracy)] = []
            for _ in 0..<(try reader.count("accuracies", maximum: 1_000_000)) {
                let client = try reader.int("client")
                let correct = try reader.int("correct")
                values.append((client, ClientAccuracy(correct: correct, count: try reader.int("count"))))
            }
            return .accuracies(values)
        case let other:
            throw JobDriverError("unknown result \(other)")
        }
    }
}
