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
    // No autofocus: a keyboard user starts at the top of the page (the skip link), as on
    // every other page, and Tab moves through the editor like any other control.
    yasqe: { value: starter, autofocus: false },
    autofocus: false,
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

  // Accessibility fixes to YASGUI's own markup (axe-core checks the page in
  // tests/test_browser.py): names for its unlabelled fields, the "add tab" button made a
  // member of the tab list it sits in, and the editor's scroll area reachable by keyboard.
  // Run again whenever YASGUI redraws part of itself.
  function accessible() {
    var root = document.getElementById("yasgui");
    root.querySelectorAll(".autocomplete:not([aria-label])").forEach(function (el) {
      el.setAttribute("aria-label", "SPARQL endpoint");
    });
    root.querySelectorAll(".CodeMirror textarea:not([aria-label])").forEach(function (el) {
      el.setAttribute("aria-label", "SPARQL query");
    });
    root.querySelectorAll(".tab input[type=text]:not([aria-label])").forEach(function (el) {
      el.setAttribute("aria-label", "Tab name");
    });
    root.querySelectorAll(".yasr select.tableSizer:not([aria-label])").forEach(function (el) {
      el.setAttribute("aria-label", "Rows per page");
    });
    root.querySelectorAll(".tabsList .addTab:not([role])").forEach(function (el) {
      el.setAttribute("role", "tab");
      el.setAttribute("aria-selected", "false");
    });
    // Tab and Shift-Tab leave the editor (CodeMirror would indent: a keyboard trap); the
    // query is indented with the editor's auto-indent and its Ctrl-] / Ctrl-[ keys.
    root.querySelectorAll(".CodeMirror").forEach(function (el) {
      if (el.CodeMirror && !el.hasAttribute("data-ked-keys")) {
        el.setAttribute("data-ked-keys", "");
        el.CodeMirror.addKeyMap({ Tab: false, "Shift-Tab": false });
      }
    });
    root.querySelectorAll(".CodeMirror-scroll:not([tabindex=\"0\"])").forEach(function (el) {
      el.setAttribute("tabindex", "0");
      el.setAttribute("aria-label", "SPARQL query (scroll area)");
    });
  }
  accessible();
  new MutationObserver(accessible).observe(document.getElementById("yasgui"),
                                           { childList: true, subtree: true });

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
