// Runs pixelmed's DicomSRValidator on every file named, in one JVM (its own main takes one file
// and a JVM start costs seconds). Prints "=== FILE" before each file's report.
import com.pixelmed.validate.DicomSRValidator;

public class ValidateSrFiles {
    public static void main(String[] files) throws Exception {
        DicomSRValidator validator = new DicomSRValidator();
        for (String file : files) {
            System.out.println("=== " + file);
            System.out.println(validator.validate(file));
        }
    }
}
