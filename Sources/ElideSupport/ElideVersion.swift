/// Version of the Elide binaries and of the wire protocol they speak.
public enum ElideVersion {
    public static let string = "0.1.0"
}
