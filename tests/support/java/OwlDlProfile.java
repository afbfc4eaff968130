// Checks that an ontology document is in the OWL 2 DL profile, with the OWL API's own
// profile checker (the OWL API is on the classpath: owlready2 ships it with Pellet).
// Usage: java -cp owlapi.jar OwlDlProfile.java FILE
// Prints one "violation: ..." line per profile violation, then "in-profile: true|false".
import java.io.File;
import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyManager;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileReport;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;

public class OwlDlProfile {
    public static void main(String[] args) throws Exception {
        OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
        OWLOntology ontology = manager.loadOntologyFromOntologyDocument(new File(args[0]));
        OWLProfileReport report = new OWL2DLProfile().checkOntology(ontology);
        for (OWLProfileViolation violation : report.getViolations()) {
            System.out.println("violation: " + violation.toString().replace('\n', ' '));
        }
        System.out.println("individuals: " + ontology.getIndividualsInSignature().size());
        System.out.println("in-profile: " + report.isInProfile());
    }
}
