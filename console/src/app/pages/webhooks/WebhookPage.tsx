/**
 * One webhook: its settings (edited in the form), switched off and on, its signing secret
 * rotated (the new one shown once; the old one keeps signing beside it for 24 hours), a test
 * event sent, and deleted after a question; its deliveries (Deliveries.tsx) and a replay of an
 * agent's stored events (ReplayForm.tsx).
 */
import { useId, useState } from "react";
import { useClient, useMutation, useQuery, type CombinedError } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { Link, navigate, useRoute } from "../../router";
import { useSession } from "../../session";
import { ConfirmButton, Loading, Page, formatTime } from "../../ui";
import { Fact, Facts } from "../Facts";
import "../pages.css";
import { Deliveries } from "./Deliveries";
import { DeleteWebhookMutation, RotateWebhookSecretMutation, TestWebhookMutation, UpdateWebhookMutation, type Webhook } from "./documents";
import { ReplayForm } from "./ReplayForm";
import { SigningSecret } from "./SigningSecret";
import { WebhookForm } from "./WebhookForm";
import "./webhooks.css";
import { ActiveBadge, agentsWords, eventTypesWords } from "./words";

// How long a rotated-out secret keeps signing (kai/services/webhook.py ROTATION_OVERLAP).
const OVERLAP_MS = 24 * 3600 * 1000;

const WebhookQuery = graphql(`
  query WebhooksPageWebhook($id: ID!) {
    webhook(id: $id) {
      ...WebhooksPageWebhook
    }
  }
`);

function About({ webhook }: { webhook: Webhook }) {
  return (
    <Facts>
      <Fact term="State">
        <ActiveBadge active={webhook.active} />
      </Fact>
      <Fact term="URL">
        <code className="webhook-url">{webhook.url}</code>
      </Fact>
      <Fact term="Description">{webhook.description ?? <span className="muted">none</span>}</Fact>
      <Fact term="Event types">{eventTypesWords(webhook)}</Fact>
      <Fact term="Agents">{agentsWords(webhook)}</Fact>
      <Fact term="Created">{formatTime(webhook.createdAt)}</Fact>
      <Fact term="Id">
        <code>{webhook.id}</code>
      </Fact>
    </Facts>
  );
}

type Changed = { notice: string; secret?: string; queued?: boolean };

function Actions({ webhook, onChanged }: { webhook: Webhook; onChanged: (changed: Changed) => void }) {
  const client = useClient();
  const [switched, switchTo] = useMutation(UpdateWebhookMutation);
  const [tested, test] = useMutation(TestWebhookMutation);
  const [, remove] = useMutation(DeleteWebhookMutation);
  const [otherError, setOtherError] = useState<CombinedError | null>(null);
  const [editing, setEditing] = useState(false);

  const toggle = async () => {
    const result = await switchTo({ id: webhook.id, input: { active: !webhook.active } });
    const saved = result.data?.updateWebhook;
    if (!saved) return;
    onChanged({
      notice: saved.active
        ? "Switched on: events are queued for it again, and pending deliveries are sent."
        : "Switched off: no event is queued for it and nothing is sent until it is switched on.",
    });
  };
  const sendTest = async () => {
    const result = await test({ id: webhook.id });
    const delivery = result.data?.testWebhook;
    if (delivery) onChanged({ notice: `Test event queued to be sent now: delivery ${delivery.id}.`, queued: true });
  };
  const rotate = async () => {
    // Imperative, not useMutation: the secret must not stay in any hook's state once shown.
    const result = await client.mutation(RotateWebhookSecretMutation, { id: webhook.id }).toPromise();
    setOtherError(result.error ?? null);
    const rotated = result.data?.rotateWebhookSecret;
    if (rotated) onChanged({ notice: "Signing secret rotated.", secret: rotated.secret });
  };
  return (
    <>
      <div className="actions">
        <button type="button" onClick={() => setEditing(true)} disabled={editing}>
          Edit
        </button>
        <button type="button" onClick={() => void toggle()} disabled={switched.fetching}>
          {webhook.active ? "Switch off" : "Switch on"}
        </button>
        <button type="button" onClick={() => void sendTest()} disabled={tested.fetching}>
          Send test event
        </button>
        <ConfirmButton
          question="Rotate the signing secret? A new one signs from now on; the old one keeps signing beside it for 24 hours."
          confirmLabel="Yes, rotate"
          onConfirm={rotate}
        >
          Rotate secret
        </ConfirmButton>
        <ConfirmButton
          danger
          aria-label={`Delete webhook ${webhook.url}`}
          question={`Delete webhook ${webhook.url}? Nothing more is sent to it, and its deliveries are deleted with it.`}
          onConfirm={async () => {
            const result = await remove({ id: webhook.id });
            setOtherError(result.error ?? null);
            if (!result.error) navigate("/webhooks");
          }}
        >
          Delete
        </ConfirmButton>
      </div>
      <ErrorMessage
        error={switched.error ?? tested.error ?? otherError}
        words={tested.error ? { NOT_FOUND: "A test event is sent as one of the agents it watches, and there is none: create an agent first." } : undefined}
      />
      {editing ? (
        <WebhookForm
          webhook={webhook}
          onDone={(saved) => {
            setEditing(false);
            if (saved) onChanged({ notice: "Saved the webhook's settings." });
          }}
        />
      ) : null}
    </>
  );
}

export function WebhookPage() {
  const { params } = useRoute();
  const id = params.id ?? "";
  const session = useSession();
  const [result, reread] = useQuery({ query: WebhookQuery, variables: { id }, requestPolicy: "cache-and-network" });
  const [notice, setNotice] = useState<string | null>(null);
  const [rotated, setRotated] = useState<{ secret: string; until: Date } | null>(null);
  const [version, setVersion] = useState(0);
  const aboutId = useId();

  const webhook = result.data?.webhook;
  if (result.fetching && !result.data) {
    return (
      <Page title="Webhook">
        <Loading what="the webhook" />
      </Page>
    );
  }
  if (!webhook) {
    return (
      <Page title="Webhook not found">
        <ErrorMessage error={result.error} />
        <p>
          There is no webhook <code>{id}</code> that you may manage. Back to <Link to="/webhooks">your webhooks</Link>.
        </p>
      </Page>
    );
  }
  const changed = (what: Changed) => {
    setNotice(what.notice);
    if (what.secret) setRotated({ secret: what.secret, until: new Date(Date.now() + OVERLAP_MS) });
    if (what.queued) setVersion((n) => n + 1);
    reread({ requestPolicy: "network-only" });
  };
  return (
    <Page title={`Webhook ${webhook.url}`}>
      <p>
        <Link to="/webhooks">← All webhooks</Link>
      </p>
      {rotated ? (
        <SigningSecret title="The new signing secret" secret={rotated.secret} onDone={() => setRotated(null)}>
          <p>
            The old secret keeps signing for 24 hours, until {rotated.until.toLocaleString()}: each request carries both
            signatures until then, so your endpoint can move to the new secret in that time.
          </p>
        </SigningSecret>
      ) : null}
      <section aria-labelledby={aboutId} className="card">
        <h2 id={aboutId}>Settings</h2>
        <About webhook={webhook} />
        <p role="status" className="status">
          {notice ?? ""}
        </p>
        {session.can("webhook.manage") ? <Actions webhook={webhook} onChanged={changed} /> : null}
      </section>
      <Deliveries webhookId={webhook.id} active={webhook.active} version={version} />
      <ReplayForm webhook={webhook} onQueued={() => setVersion((n) => n + 1)} />
    </Page>
  );
}
