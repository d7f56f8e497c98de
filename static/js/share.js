// Share panel buttons: copy the link, open the phone's share sheet. Clicks are
// delegated to the document, so panels htmx swaps in later work too.
(function () {
  "use strict";
  if (window.storefrontShare) return; // the page may include this file twice
  window.storefrontShare = true;

  // Buttons stay hidden until they can work: Share… only where the browser
  // has a share sheet.
  function reveal() {
    document.querySelectorAll("[data-share-copy]").forEach(function (button) {
      button.hidden = false;
    });
    if (!navigator.share) return;
    document.querySelectorAll("[data-share-native]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function say(button, text) {
    var status = button.closest("[data-share]").querySelector("[data-share-status]");
    if (status) status.textContent = text;
  }

  // Older in-app browsers (and plain http) have no navigator.clipboard.
  function selectAndCopy(input) {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copy(button) {
    var input = button.closest("[data-share]").querySelector("[data-share-link]");
    var done = function () { say(button, button.dataset.copied); };
    var fallback = function () {
      say(button, selectAndCopy(input) ? button.dataset.copied : button.dataset.failed);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, fallback);
    } else {
      fallback();
    }
  }

  function share(button) {
    navigator.share({ title: button.dataset.title, url: button.dataset.url })
      .catch(function () {}); // cancelled by the user: nothing to report
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-share-copy], [data-share-native]");
    if (!button) return;
    if (button.hasAttribute("data-share-copy")) copy(button);
    else share(button);
  });
  document.addEventListener("htmx:load", reveal);
  reveal();
})();
