package dev.scone.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** scone-bom lists every module of the reactor, each at the reactor's version, and has no parent. */
class BomTest {

    private static Document read(Path pom) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
    }

    private static String child(Element e, String name) {
        NodeList l = e.getElementsByTagName(name);
        return l.getLength() == 0 ? null : l.item(0).getTextContent().trim();
    }

    @Test
    void listsEveryModuleAtTheReactorsVersion() throws Exception {
        Path root = Path.of(System.getProperty("scone.root"));
        String version = System.getProperty("scone.version");
        Document parent = read(root.resolve("pom.xml"));
        TreeSet<String> modules = new TreeSet<>();
        NodeList m = parent.getElementsByTagName("module");
        for (int i = 0; i < m.getLength(); i++) {
            modules.add(m.item(i).getTextContent().trim());
        }
        modules.remove("scone-bom");

        Document bom = read(root.resolve("scone-bom").resolve("pom.xml"));
        Element project = bom.getDocumentElement();
        assertEquals(0, project.getElementsByTagName("parent").getLength(), "a BOM without a parent pins nothing else");
        assertEquals(version, project.getElementsByTagName("version").item(0).getTextContent().trim(),
                "the BOM's own version");
        TreeSet<String> listed = new TreeSet<>();
        List<String> wrong = new ArrayList<>();
        NodeList deps = project.getElementsByTagName("dependency");
        for (int i = 0; i < deps.getLength(); i++) {
            Element d = (Element) deps.item(i);
            assertEquals("dev.scone", child(d, "groupId"));
            listed.add(child(d, "artifactId"));
            if (!version.equals(child(d, "version"))) {
                wrong.add(child(d, "artifactId") + ":" + child(d, "version"));
            }
        }
        assertEquals(modules, listed, "the BOM lists exactly the reactor's modules");
        assertTrue(wrong.isEmpty(), "versions other than " + version + ": " + wrong);
        assertTrue(Files.isRegularFile(root.resolve("scone-bom").resolve("pom.xml")));
    }
}
