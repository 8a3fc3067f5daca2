// Accolade console: small progressive enhancements. Every form also works without this file.
(function () {
  "use strict";
  var err = document.getElementById("form-error");
  if (err) { err.focus(); }

  // Live preview of a template: the form is posted to the preview frame as the admin types.
  var form = document.querySelector("form[data-preview]");
  if (form) {
    var btn = form.querySelector("[data-preview-button]");
    var timer = null;
    var refresh = function () { if (btn) { form.requestSubmit(btn); } };
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 600); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 200); });
    refresh();
  }

  // Reorder related badges: move a row up or down and renumber the order fields.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-move]");
    if (!b) { return; }
    e.preventDefault();
    var row = b.closest(".related-row");
    var list = row.parentNode;
    if (b.getAttribute("data-move") === "up" && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
    } else if (b.getAttribute("data-move") === "down" && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
    }
    // Rows are renamed to their new positions, so the server's field paths (related[i]) and the
    // rows agree, and an error lands on the row it is about.
    Array.prototype.forEach.call(list.querySelectorAll(".related-row"), function (r, i) {
      Array.prototype.forEach.call(r.querySelectorAll("[name],[id],[for],[aria-describedby]"), function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (a) {
          var v = el.getAttribute(a);
          if (v) { el.setAttribute(a, v.replace(/related\[\d+\]/g, "related[" + i + "]").replace(/related-\d+-/g, "related-" + i + "-")); }
        });
      });
      var o = r.querySelector('input[name$="._order:int"]');
      if (o) { o.value = String(i + 1); }
    });
    b.focus();
    if (form) { form.dispatchEvent(new Event("change")); }
  });

  // Image uploads on the template page: PUT the file, then reload to show it.
  Array.prototype.forEach.call(document.querySelectorAll("input[data-upload]"), function (inp) {
    inp.addEventListener("change", function () {
      var f = inp.files[0];
      var st = document.getElementById("upload-status");
      // A server-side failure in the page's language (its details are in the server's log).
      var failed = document.documentElement.lang === "ko" ? "업로드하지 못했습니다. 잠시 후 다시 시도하세요." : "Upload failed. Please try again shortly.";
      if (!f) { return; }
      st.textContent = "…";
      fetch(inp.getAttribute("data-upload"), {
        method: "PUT", credentials: "same-origin", body: f,
        headers: { "Content-Type": f.type || "application/octet-stream", "X-CSRF-Token": inp.getAttribute("data-csrf") }
      }).then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        return r.json().then(function (j) { st.textContent = (j.error && r.status < 500) ? j.error.message : failed; });
      }).catch(function () { st.textContent = failed; });
    });
  });

  // Bulk upload: create the batch, PUT the file straight to S3 with a progress bar, then follow
  // the batch until it is done.
  var bulk = document.getElementById("bulk-form");
  if (!bulk) { return; }
  var file = document.getElementById("f-file");
  var drop = document.getElementById("drop");
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("batch-status");
  var t = JSON.parse(document.getElementById("bulk-words").textContent);
  var say = function (s) { status.textContent = s; };
  ["dragenter", "dragover"].forEach(function (n) {
    drop.addEventListener(n, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (n) {
    drop.addEventListener(n, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) { file.files = e.dataTransfer.files; say(file.files[0].name); }
  });
  var follow = function (id) {
    fetch("/console/bulk/batches/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) {
        // Signed out meanwhile (a redirect to the sign-in page): stop and say so.
        if (!r.ok || (r.headers.get("content-type") || "").indexOf("json") < 0) {
          say(t.signin); throw null;
        }
        return r.json();
      })
      .then(function (b) {
        var c = b.counts || {};
        say(t["st_" + b.status] + " · " + t.rows + " " + (c.rows || 0) + " · " + t.valid + " " + (c.valid || 0) +
            " · " + t.issued + " " + (c.issued || 0) + " · " + t.invalid + " " + (c.invalid || 0) +
            (c.skipped_duplicate ? " · " + t.duplicates + " " + c.skipped_duplicate : ""));
        if (b.stalled_since) { say(status.textContent + " · " + t.stalled); }
        status.setAttribute("data-status", b.status);
        if (b.status === "completed" || b.status === "failed") {
          var reason = document.documentElement.lang === "ko" && b.failure_reason_ko || b.failure_reason;
          if (reason) { say(status.textContent + " · " + reason); }
          // The file's warnings (columns not read, rows skipped), in the page's language.
          var warnings = document.documentElement.lang === "ko" && (b.warnings_ko || []).length ? b.warnings_ko : (b.warnings || []);
          var list = document.getElementById("batch-warnings");
          list.textContent = "";
          warnings.forEach(function (w) { var li = document.createElement("li"); li.textContent = w; list.appendChild(li); });
          list.hidden = warnings.length === 0;
          if (b.error_report_url) {
            var a = document.getElementById("report-link");
            a.href = b.error_report_url; a.hidden = false;
          }
          var open = document.getElementById("batch-link");
          open.href = "/console/awards?batch=" + encodeURIComponent(id); open.hidden = false;
          return;
        }
        setTimeout(function () { follow(id); }, 1000);
      })
      .catch(function (e) { if (e !== null) { setTimeout(function () { follow(id); }, 2000); } });
  };
  bulk.addEventListener("submit", function (e) {
    e.preventDefault();
    var f = file.files[0];
    var fileErr = document.getElementById("file-error");
    fileErr.textContent = "";
    if (!f) { fileErr.textContent = t.choose; file.focus(); return; }
    var body = {
      filename: f.name,
      size: f.size,
      notify: document.getElementById("f-notify").checked,
      mode: document.getElementById("f-mode").value
    };
    var tpl = document.getElementById("f-template_id").value;
    if (tpl) { body.template_id = tpl; }
    say(t.creating);
    fetch("/console/bulk/batches", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": bulk.getAttribute("data-csrf") },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, status: r.status, j: j }; }); })
      .then(function (res) {
        if (!res.ok) { fileErr.textContent = (res.j.error && res.status < 500) ? res.j.error.message : t.failed; say(""); return; }
        var b = res.j;
        var x = new XMLHttpRequest();
        x.open("PUT", b.upload_url);
        x.upload.onprogress = function (ev) {
          if (ev.lengthComputable) { bar.max = ev.total; bar.value = ev.loaded; say(t.uploading + " " + Math.round(ev.loaded * 100 / ev.total) + "%"); }
        };
        x.onload = function () {
          if (x.status >= 200 && x.status < 300) { bar.max = 1; bar.value = 1; say(t.uploaded); follow(b.batch_id); }
          else { fileErr.textContent = t.failed + " (" + x.status + ")"; }
        };
        x.onerror = function () { fileErr.textContent = t.failed; };
        x.send(f);
      })
      .catch(function () { fileErr.textContent = t.failed; });
  });
})();
