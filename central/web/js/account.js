// My account: change my own password (say, the one-time password an admin handed over).
"use strict";

import { $, sendJson, t } from "./core.js";

let newToken = () => {};

/** main.js hands in what to do with the fresh token the change answers with. */
export function onNewToken(callback) { newToken = callback; }

export async function open() {
  $("#password-error").textContent = "";
  $("#password-done").hidden = true;
}

$("#password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#password-error").textContent = "";
  $("#password-done").hidden = true;
  if ($("#new-password").value !== $("#repeat-password").value) {
    $("#password-error").textContent = t("account.mismatch");
    return;
  }
  try {
    const issued = await sendJson("/api/v1/auth/password", "POST", {
      current_password: $("#current-password").value, new_password: $("#new-password").value,
    });
    newToken(issued);
    for (const id of ["#current-password", "#new-password", "#repeat-password"]) $(id).value = "";
    $("#password-done").hidden = false;
  } catch (error) {
    $("#password-error").textContent = error.message;
  }
});
