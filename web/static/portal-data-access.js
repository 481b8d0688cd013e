// 谁查看了我的信息: every full view of my applications' personal data (GET /api/me/data-access).
import { dateTime, matterNames } from "./portal-common.js";

const { api, el } = OneWindow;

const ROLES = { clerk: "窗口或部门工作人员", supervisor: "监察人员", analyst: "业务分析人员", admin: "系统管理员" };
const FIELDS = { id_number: "身份证号码", phone: "联系电话", applicant_name: "姓名", bank_account: "银行卡号",
                 address: "地址", mail_address: "邮寄地址" };

export const listViews = () => OneWindow.page(list);

async function list() {
  const [views, names] = await Promise.all([api("/api/me/data-access"), matterNames()]);
  const cards = views.map((v) => el("li", { class: "card" },
    el("h2", {}, (names[v.matter] || {}).name || "办件"),
    el("dl", { class: "facts" },
      el("dt", {}, "查看人"), el("dd", {}, `${v.viewer}（${ROLES[v.viewer_role] || v.viewer_role}）`),
      el("dt", {}, "时间"), el("dd", {}, dateTime(v.at)),
      el("dt", {}, "理由"), el("dd", {}, v.reason),
      el("dt", {}, "查看的信息"), el("dd", {}, (v.fields || []).map((f) => FIELDS[f] || f).join("、")),
      el("dt", {}, "办件编号"), el("dd", {}, v.tracking_no))));
  document.getElementById("views").replaceChildren(
    ...(cards.length ? cards : [el("li", { class: "card muted" }, "目前没有人查看过您的完整个人信息。")]));
  document.body.dataset.views = String(views.length);
}
