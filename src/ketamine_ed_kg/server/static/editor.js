// The query editor: YASGUI with our endpoint, prefixes and example queries.
// The configuration is JSON in the page (#editor-config), written by the server.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("editor-config").textContent);
  var endpoint = new URL(config.endpoint, window.location.href).href;
  var prefixLines = Object.keys(config.prefixes).map(function (p) {
    return "PREFIX " + p + ": <" + config.prefixes[p] + ">";
  });
  // A new tab starts with our prefixes and a small query over the data.
  var starter = prefixLines.join("\n") +
    "\n\nSELECT ?study ?label WHERE {\n  ?study a kedo:HumanStudy ; rdfs:label ?label .\n}" +
    " ORDER BY ?study\nLIMIT 25\n";
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    yasqe: { value: starter },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: "ketamine-ed-kg-editor",
  });
  window.kedYasgui = yasgui;

  function currentYasqe() {
    var tab = yasgui.getTab();
    return tab ? tab.getYasqe() : null;
  }

  // Our prefixes for the prefix completion of every tab's editor.
  function addPrefixes() {
    var yasqe = currentYasqe();
    if (yasqe && yasqe.getValue().trim() === "") {
      yasqe.setValue(starter);
    }
  }
  addPrefixes();
  yasgui.on("tabSelect", function () { setTimeout(addPrefixes, 0); });

  var picker = document.getElementById("example-picker");
  var comment = document.getElementById("example-comment");
  picker.addEventListener("change", function () {
    if (picker.value === "") { return; }
    var example = config.examples[Number(picker.value)];
    var tab = yasgui.getTab();
    tab.setName(example.title.length > 40 ? example.title.slice(0, 39) + "…" : example.title);
    tab.getYasqe().setValue(example.query);
    comment.textContent = example.comment;
  });
})();
