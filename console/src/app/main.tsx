import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";

import { App } from "./App";
import { client } from "./client";
import { SessionProvider } from "./session";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <Provider value={client}>
        <SessionProvider>
          <App />
        </SessionProvider>
      </Provider>
    </StrictMode>,
  );
}
