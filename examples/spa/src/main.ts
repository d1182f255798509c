// A minimal backer page: register or log in, browse live campaigns, follow one, pledge with a
// sandbox test card, read and write comments, see "my pledges". Every call goes through the
// client generated from openapi.json.

import type { components } from "./api";
import { Api } from "./session.js";

type Problem = components["schemas"]["Problem"];
type Campaign = components["schemas"]["CampaignResponse"];
type Image = components["schemas"]["ImageResponse"];
type Comment = components["schemas"]["CommentResponse"];

const params = new URLSearchParams(location.search);
const api = new Api(params.get("api") ?? "http://localhost:8080");

/** The sandbox provider's test payment methods (see the crowdfund README). */
const TEST_CARDS = [
  ["pm_card_visa", "Visa — charges succeed"],
  ["pm_card_chargeDeclined", "Declined at the deadline"],
  ["pm_card_chargeDeclinedInsufficientFunds", "Insufficient funds at the deadline"],
  ["pm_card_authenticationRequired", "Needs authentication at the deadline"],
] as const;

function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { testid?: string } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const { testid, ...rest } = props;
  Object.assign(element, rest);
  if (testid) element.dataset.testid = testid;
  element.append(...children);
  return element;
}

/** An `<img>` of an image's variants: the browser picks the width it needs. */
function picture(image: Image, sizes: string, testid: string): HTMLImageElement {
  const img = el("img", { testid, alt: image.alt, src: image.variants.medium });
  img.srcset = `${image.variants.small} 400w, ${image.variants.medium} 1024w, ${image.variants.large} 1600w`;
  img.sizes = sizes;
  return img;
}

function value(id: string): string {
  return ($(id) as HTMLInputElement | HTMLSelectElement).value;
}

/** Shows an RFC 9457 problem: its title and detail, and each field it names. */
function showProblem(problem: Problem | undefined, fallback = "Something went wrong"): void {
  const box = $("problem");
  box.replaceChildren();
  box.hidden = false;
  box.append(el("strong", { testid: "problem-title" }, problem?.title ?? fallback));
  if (problem?.detail) box.append(el("p", { testid: "problem-detail" }, problem.detail));
  const fields = problem?.errors ?? [];
  if (fields.length) {
    box.append(
      el("ul", {}, ...fields.map((e) => el("li", { testid: `field-error-${e.field}` }, `${e.field}: ${e.message}`))),
    );
  }
}

function clearProblem(): void {
  $("problem").hidden = true;
  $("problem").replaceChildren();
}

function show(view: "auth" | "campaigns" | "campaign" | "pledges"): void {
  for (const id of ["auth", "campaigns", "campaign", "pledges"]) $(id).hidden = id !== view;
}

function renderUser(): void {
  $("who").textContent = api.user ? `Signed in as ${api.user.display_name}` : "Not signed in";
  $("nav").hidden = !api.loggedIn;
}

async function listCampaigns(): Promise<void> {
  clearProblem();
  const { data, error } = await api.client.GET("/api/v1/campaigns", { params: { query: { status: "live" } } });
  if (!data) return showProblem(error);
  const list = $("campaign-list");
  list.replaceChildren(
    ...data.items.map((c) =>
      el(
        "li",
        {},
        ...(c.cover_image ? [picture(c.cover_image, "120px", `cover-${c.slug}`)] : []),
        el("button", { testid: `open-campaign-${c.slug}`, onclick: () => void openCampaign(c.slug) }, c.title),
        ` — ${c.pledged} of ${c.goal ?? "?"} ${c.currency} (${c.percent_funded}%)`,
      ),
    ),
  );
  if (!data.items.length) list.append(el("li", {}, "No live campaigns yet."));
  show("campaigns");
}

async function openCampaign(slug: string): Promise<void> {
  clearProblem();
  const { data, error } = await api.client.GET("/api/v1/campaigns/{id}", { params: { path: { id: slug } } });
  if (!data) return showProblem(error);
  renderCampaign(data);
  show("campaign");
}

function renderCampaign(campaign: Campaign): void {
  $("campaign-title").textContent = campaign.title;
  $("campaign-blurb").textContent = campaign.blurb;
  const cover = $("campaign-cover") as HTMLImageElement;
  cover.hidden = !campaign.cover_image;
  if (campaign.cover_image) {
    const shown = picture(campaign.cover_image, cover.sizes, "campaign-cover");
    cover.alt = shown.alt;
    cover.srcset = shown.srcset;
    cover.src = shown.src;
  }
  $("campaign-gallery").replaceChildren(
    ...campaign.gallery.map((image, i) => picture(image, "(max-width: 800px) 50vw, 400px", `gallery-${i}`)),
  );
  const tiers = $("tier-list");
  tiers.replaceChildren(
    ...campaign.tiers.map((t) =>
      el(
        "li",
        { testid: `tier-${t.id}` },
        ...(t.image ? [picture(t.image, "200px", `tier-image-${t.id}`)] : []),
        `${t.title}: from ${t.min_amount} ${campaign.currency}`,
        t.available ? "" : " (not available)",
      ),
    ),
  );
  const select = $("pledge-tier") as HTMLSelectElement;
  select.replaceChildren(
    el("option", { value: "" }, "No reward"),
    ...campaign.tiers.filter((t) => t.available).map((t) => el("option", { value: String(t.id) }, `${t.title} (${t.min_amount})`)),
  );
  $("pledge-form").onsubmit = (event) => {
    event.preventDefault();
    void pledge(campaign.id);
  };
  renderFollow(campaign.id, campaign.following, campaign.followers_count);
  $("comment-form").onsubmit = (event) => {
    event.preventDefault();
    void postComment(campaign.id);
  };
  void loadComments(campaign.id);
}

function renderFollow(campaignId: number, following: boolean, count: number): void {
  const button = $("follow") as HTMLButtonElement;
  button.textContent = following ? "Following" : "Follow";
  button.onclick = () => void toggleFollow(campaignId, following);
  $("followers").textContent = `${count} follower${count === 1 ? "" : "s"}`;
}

async function toggleFollow(campaignId: number, following: boolean): Promise<void> {
  clearProblem();
  const options = { params: { path: { id: campaignId } } };
  const { data, error } = await api.authed(() =>
    following
      ? api.client.DELETE("/api/v1/campaigns/{id}/follow", options)
      : api.client.POST("/api/v1/campaigns/{id}/follow", options),
  );
  if (!data) return showProblem(error);
  renderFollow(campaignId, data.following, data.followers_count);
}

/** A comment as text (never as HTML), with who wrote it. */
function commentItem(comment: Comment): HTMLLIElement {
  const who = comment.author ? comment.author.display_name : "";
  const item = el(
    "li",
    { testid: `comment-${comment.id}` },
    comment.deleted
      ? el("em", {}, "(deleted)")
      : el("span", {}, el("strong", {}, who), comment.by_creator ? " (creator)" : "", ": ", comment.body ?? ""),
  );
  if (comment.replies.length) item.append(el("ul", {}, ...comment.replies.map(commentItem)));
  return item;
}

async function loadComments(campaignId: number): Promise<void> {
  const { data, error } = await api.authed(() =>
    api.client.GET("/api/v1/campaigns/{id}/comments", { params: { path: { id: campaignId } } }),
  );
  if (!data) return showProblem(error);
  const list = $("comment-list");
  list.replaceChildren(...data.items.map(commentItem));
  if (!data.items.length) list.append(el("li", {}, "No comments yet."));
}

async function postComment(campaignId: number): Promise<void> {
  clearProblem();
  const { data, error } = await api.authed(() =>
    api.client.POST("/api/v1/campaigns/{id}/comments", {
      params: { path: { id: campaignId } },
      body: { body: value("comment-body") },
    }),
  );
  if (!data) return showProblem(error);
  ($("comment-body") as HTMLTextAreaElement).value = "";
  await loadComments(campaignId);
}

async function pledge(campaignId: number): Promise<void> {
  clearProblem();
  const tier = value("pledge-tier");
  const { data, error } = await api.authed(() =>
    api.client.POST("/api/v1/campaigns/{id}/pledges", {
      params: { path: { id: campaignId } },
      body: {
        amount: value("pledge-amount"),
        tier_id: tier ? Number(tier) : null,
        payment_method: value("pledge-card"),
      },
    }),
  );
  if (!data) return showProblem(error);
  $("pledge-result").textContent = `Pledged ${data.amount} ${data.currency} (pledge #${data.id}, ${data.status}).`;
}

async function myPledges(): Promise<void> {
  clearProblem();
  const { data, error } = await api.authed(() => api.client.GET("/api/v1/me/pledges", {}));
  if (!data) {
    if (!api.loggedIn) {
      renderUser();
      show("auth");
    }
    return showProblem(error);
  }
  $("pledge-list").replaceChildren(
    ...data.items.map((p) =>
      el("li", { testid: `pledge-${p.id}` }, `#${p.id}: ${p.amount} ${p.currency} to campaign ${p.campaign_id} — ${p.status}`),
    ),
  );
  if (!data.items.length) $("pledge-list").append(el("li", {}, "No pledges yet."));
  $("refresh-count").textContent = String(api.refreshes);
  show("pledges");
}

async function afterSignIn(result: { error?: Problem }): Promise<void> {
  if (result.error) return showProblem(result.error);
  renderUser();
  await listCampaigns();
}

function wire(): void {
  ($("pledge-card") as HTMLSelectElement).replaceChildren(
    ...TEST_CARDS.map(([id, label]) => el("option", { value: id }, label)),
  );
  $("register-form").onsubmit = (event) => {
    event.preventDefault();
    clearProblem();
    void api.register(value("register-email"), value("register-password"), value("register-name")).then(afterSignIn);
  };
  $("login-form").onsubmit = (event) => {
    event.preventDefault();
    clearProblem();
    void api.login(value("login-email"), value("login-password")).then(afterSignIn);
  };
  $("nav-campaigns").onclick = () => void listCampaigns();
  $("nav-pledges").onclick = () => void myPledges();
  $("nav-logout").onclick = () =>
    void api.logout().then(() => {
      renderUser();
      show("auth");
    });
}

async function boot(): Promise<void> {
  wire();
  // A session survives a reload through the refresh cookie.
  if (await api.refresh()) {
    renderUser();
    await listCampaigns();
  } else {
    renderUser();
    show("auth");
  }
  document.body.dataset.ready = "true";
}

void boot();
