import Mustache

/// The pages, as Mustache templates (swift-mustache escapes every `{{value}}` for HTML). Chinese, mobile-first, no
/// script, one stylesheet from this server: the Content-Security-Policy allows nothing else.
enum Pages {
    static let library: MustacheLibrary = {
        var l = MustacheLibrary()
        for (name, text) in templates {
            // The templates are ours and fixed; a parse error is a bug the page tests catch at once.
            try? l.register(text, named: name)
        }
        return l
    }()

    static let head = """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <meta name="robots" content="noindex, nofollow">
        <title>{{title}} · 关怀</title>
        <link rel="stylesheet" href="/static/app.css">
        </head><body><main>
        """
    static let foot = """
        <footer>关怀（guanhuai）· 此页面仅供您本人使用，请勿转发链接。</footer>
        </main></body></html>
        """

    // Triple braces only around values this server makes from a safe alphabet (base64url tokens, ISO dates, ids it
    // numbers itself); everything a person typed or a roster holds goes through {{…}} and is escaped.
    static let templates: [String: String] = [
        "problem": head + """
            <h1>{{title}}</h1>
            <p class="notice">{{message}}</p>
            <p>如需帮助，请联系{{contact}}。</p>
            """ + foot,
        "item": head + """
            <h1>{{heading}}</h1>
            <section class="card">
            <dl>
            <dt>事项</dt><dd id="title">{{item.title}}</dd>
            <dt>对象</dt><dd id="subject">{{item.subject}}</dd>
            <dt>期限</dt><dd id="due">{{item.due}}（{{item.weekday}}）{{#item.overdue}}<span class="late">已逾期 {{item.daysOverdue}} 天</span>{{/item.overdue}}</dd>
            <dt>责任人</dt><dd>{{item.responsible}}</dd>
            {{#item.note}}<dt>备注</dt><dd>{{item.note}}</dd>{{/item.note}}
            </dl>
            </section>
            {{#recorded}}<p class="notice" id="recorded">{{recorded}}</p>{{/recorded}}
            {{#done}}
            <form method="post" action="{{action}}">
            <label>办结日期 <input type="date" name="date" value="{{today}}" min="{{windowStart}}" max="{{today}}" required></label>
            <label>慰问金（元，可不填）<input type="text" name="amount" inputmode="decimal" pattern="[0-9]+(\\.[0-9]{1,2})?" placeholder="例如 500"></label>
            <label>备注（可不填）<textarea name="note" rows="3" maxlength="500"></textarea></label>
            <button type="submit" id="submit">确认已办结</button>
            </form>
            {{/done}}
            {{#waive}}
            <form method="post" action="{{action}}">
            <label>不适用的原因 <textarea name="reason" rows="3" maxlength="500" required></textarea></label>
            <button type="submit" id="submit">确认不适用</button>
            </form>
            {{/waive}}
            {{#note}}
            {{#hasNotes}}<h2>已登记的情况</h2><ul>{{#notes}}<li>{{date}}：{{text}}</li>{{/notes}}</ul>{{/hasNotes}}
            <form method="post" action="{{action}}">
            <input type="hidden" name="nonce" value="{{nonce}}">
            <label>日期 <input type="date" name="date" value="{{today}}" max="{{today}}" required></label>
            <label>情况 <textarea name="note" rows="4" maxlength="1000" required></textarea></label>
            <button type="submit" id="submit">登记</button>
            </form>
            {{/note}}
            {{#agenda}}<p><a href="{{agenda}}">我的待办</a></p>{{/agenda}}
            """ + foot,
        "confirm": head + """
            <h1>确认已办结</h1>
            <section class="card">
            <dl>
            <dt>事项</dt><dd id="title">{{item.title}}</dd>
            <dt>对象</dt><dd id="subject">{{item.subject}}</dd>
            <dt>期限</dt><dd>{{item.due}}（{{item.weekday}}）</dd>
            <dt>办结日期</dt><dd id="date">{{date}}</dd>
            </dl>
            </section>
            <p>确认这项工作已经办理完毕？登记后，相关提醒不再发送。</p>
            <form method="post" action="{{action}}">
            <input type="hidden" name="occurrence" value="{{occurrence}}">
            <input type="hidden" name="date" value="{{date}}">
            <input type="hidden" name="confirm" value="yes">
            <button type="submit" id="confirm">确认已办结</button>
            </form>
            <p class="more"><a href="{{agenda}}" id="cancel">没有办结，返回我的待办</a></p>
            """ + foot,
        "result": head + """
            <h1>{{title}}</h1>
            <p class="notice ok" id="result">{{message}}</p>
            {{#agenda}}<p><a href="{{agenda}}">返回我的待办</a></p>{{/agenda}}
            """ + foot,
        "agenda": head + """
            <h1>我的待办</h1>
            <p>{{name}}，截至 {{today}}：{{#hasOverdue}}<span class="late" id="overdue-count">{{overdueCount}} 项逾期</span>，{{/hasOverdue}}共 {{count}} 项待办。</p>
            {{^items}}<p class="notice">暂无待办事项。</p>{{/items}}
            {{#items}}
            <section class="card{{#item.overdue}} overdue{{/item.overdue}}" id="{{{anchor}}}">
            <h2>{{item.title}}</h2>
            <p>{{item.subject}} · 期限 {{item.due}}（{{item.weekday}}）{{#item.overdue}} · <span class="late">已逾期 {{item.daysOverdue}} 天</span>{{/item.overdue}}{{^mine}} · 责任人 {{item.responsible}}{{/mine}}</p>
            {{#fund}}<p class="more"><a href="{{{fund}}}" class="fund">办理申请</a></p>{{/fund}}
            {{^fund}}
            <form method="post" action="{{{doneAction}}}" class="inline">
            <input type="hidden" name="occurrence" value="{{occurrence}}">
            <label>办结日期 <input type="date" name="date" value="{{{today}}}" min="{{{windowStart}}}" max="{{{today}}}" required></label>
            <button type="submit" class="done">已办结…</button>
            </form>
            <p class="more"><a href="{{{page}}}/done">填写慰问金或备注</a> · <a href="{{{page}}}/waive">不适用</a> · <a href="{{{page}}}/note">登记情况</a></p>
            {{/fund}}
            </section>
            {{/items}}
            {{#hasMembers}}
            <h2>登记党员情况</h2>
            <p>记录后，系统会按规定安排相应的谈心谈话或走访慰问。</p>
            <form method="post" action="{{eventAction}}">
            <label>党员 <select name="member" required><option value="">请选择党员</option>{{#members}}<option value="{{id}}">{{name}}（{{unit}}）</option>{{/members}}</select></label>
            <label>情况 <select name="kind" required><option value="">请选择情况</option>{{#kinds}}<option value="{{id}}">{{name}}</option>{{/kinds}}</select></label>
            <label>日期 <input type="date" name="date" value="{{today}}" max="{{today}}" required></label>
            <label>备注（可不填，仅本人与组织可见）<textarea name="note" rows="2" maxlength="500"></textarea></label>
            <button type="submit" id="record-event">登记</button>
            </form>
            {{/hasMembers}}
            {{#canApply}}
            <h2>申请关怀帮扶专项资金</h2>
            <p>为本支部党员（或因公殉职党员的家庭）申请。事由仅审核、决定的同志可见；公示只列姓名、单位、类别和金额。</p>
            <form method="post" action="{{fundAction}}" id="fund-apply">
            <input type="hidden" name="nonce" value="{{fundNonce}}">
            <label>党员 <select name="member" required><option value="">请选择党员</option>{{#applicants}}<option value="{{id}}">{{name}}（{{unit}}）</option>{{/applicants}}</select></label>
            <label>类别 <select name="category" required><option value="">请选择类别</option>{{#categories}}<option value="{{id}}">{{name}}</option>{{/categories}}</select></label>
            <label>申请金额（元）<input type="text" name="amount" inputmode="decimal" pattern="[0-9]+(\\.[0-9]{1,2})?" required placeholder="例如 3000"></label>
            <label>事由（仅审核、决定的同志可见）<textarea name="reason" rows="3" maxlength="1000" required></textarea></label>
            <label>亲属回避（本组织中该党员的亲属，写编号或姓名，以空格分隔；可不填）<input type="text" name="family"></label>
            <label>附件名称（每行一个；文件请按规定另行报送）<textarea name="attachments" rows="2" maxlength="2000"></textarea></label>
            <label class="check"><input type="checkbox" name="consent" value="yes" required> 本人（或家属）同意资助结果按规定公示</label>
            <button type="submit" id="fund-submit">提交申请</button>
            </form>
            {{/canApply}}
            <p><a href="{{{notice}}}" id="notice">专项资金公示</a></p>
            {{#report}}<p><a href="{{{report}}}" id="report">本单位关怀工作统计</a></p>{{/report}}
            <h2>订阅日历</h2>
            <p>在手机或电脑日历中订阅此地址，待办事项会按期限显示（只含事项和对象，不含原因）：</p>
            <p class="feed"><input type="text" readonly value="{{feed}}" id="feed"></p>
            """ + foot,
        "fund": head + """
            <h1>专项资金申请 {{id}}</h1>
            <section class="card">
            <dl>
            <dt>党员</dt><dd id="member">{{member}}（{{unit}}）</dd>
            <dt>类别</dt><dd>{{category}}</dd>
            <dt>申请金额</dt><dd>{{amount}} 元</dd>
            <dt>事由</dt><dd id="reason">{{reason}}</dd>
            {{#attachments}}<dt>附件</dt><dd>{{attachments}}</dd>{{/attachments}}
            <dt>申请日期</dt><dd>{{appliedOn}}</dd>
            <dt>现状</dt><dd id="stage">{{stage}}{{#due}}，期限 {{due}}{{/due}}</dd>
            {{#granted}}<dt>决定资助</dt><dd>{{granted}}</dd>{{/granted}}
            </dl>
            </section>
            {{#hasSteps}}<h2>办理经过</h2><ol>{{#steps}}<li>{{text}}</li>{{/steps}}</ol>{{/hasSteps}}
            {{#hasVerdicts}}
            <form method="post" action="{{{action}}}" id="fund-step">
            <input type="hidden" name="nonce" value="{{nonce}}">
            {{#decideForm}}
            <label>会议日期 <input type="date" name="meeting" value="{{today}}" max="{{today}}"></label>
            <label>参会人员（编号或姓名，以空格或逗号分隔；审核人不参加）<input type="text" name="attendees"></label>
            {{/decideForm}}
            {{#payForm}}<label>发放日期 <input type="date" name="date" value="{{today}}" max="{{today}}"></label>{{/payForm}}
            {{#moneyForm}}
            <label>金额（元）<input type="text" name="amount" inputmode="decimal" value="{{asked}}"></label>
            <label>资金来源 <select name="source"><option value="">请选择</option>{{#sources}}<option value="{{id}}">{{name}}</option>{{/sources}}</select></label>
            {{/moneyForm}}
            <label>意见（退回、不同意、异议及其核实时必填）<textarea name="words" rows="3" maxlength="500"></textarea></label>
            {{#verdicts}}<button type="submit" name="verdict" value="{{id}}" id="verdict-{{id}}">{{name}}</button>{{/verdicts}}
            </form>
            {{/hasVerdicts}}
            <p><a href="{{{agenda}}}">返回我的待办</a></p>
            """ + foot,
        "notice": head + """
            <h1>{{heading}}</h1>
            <p>根据《关怀帮扶专项资金使用办法》，经个人申请、所在党组织审核、党委组织部集体研究，拟对以下同志予以资助，现予公示。</p>
            {{#empty}}<p class="notice" id="none">目前没有公示中的资助。</p>{{/empty}}
            {{^empty}}
            <table id="grants"><thead><tr><th>姓名</th><th>单位</th><th>类别</th><th>金额（元）</th><th>公示期</th></tr></thead>
            <tbody>{{#rows}}<tr><td>{{name}}</td><td>{{unit}}</td><td>{{category}}</td><td>{{amount}}</td><td>{{period}}</td></tr>{{/rows}}</tbody></table>
            {{/empty}}
            <p id="objection">公示期间如有异议，请向{{contact}}反映。</p>
            <p class="screen-only"><a href="{{{agenda}}}">返回我的待办</a></p>
            """ + foot,
    ]

    /// Served at /static/app.css (the CSP forbids inline style).
    static let css = """
        :root { color-scheme: light; --accent: #b71c1c; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.6 -apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; background: #f6f6f6; color: #222; }
        main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
        h1 { font-size: 1.35rem; margin: .5rem 0 1rem; color: var(--accent); }
        h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
        .card { background: #fff; border-radius: .5rem; padding: .8rem 1rem; margin: .8rem 0; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
        .card h2 { margin-top: 0; }
        .card.overdue { border-left: .3rem solid var(--accent); }
        dl { display: grid; grid-template-columns: 4.5em 1fr; gap: .3rem .6rem; margin: 0; }
        dt { color: #666; } dd { margin: 0; }
        label { display: block; margin: .8rem 0; }
        input, textarea, select, button { font: inherit; width: 100%; padding: .6rem; margin-top: .3rem; border: 1px solid #bbb; border-radius: .4rem; }
        button { background: var(--accent); color: #fff; border: 0; font-weight: 600; min-height: 2.8rem; }
        form.inline label { margin: .4rem 0; }
        .late { color: var(--accent); font-weight: 600; }
        .notice { background: #fff8e1; padding: .8rem 1rem; border-radius: .4rem; }
        .notice.ok { background: #e8f5e9; }
        .more { font-size: .9rem; margin: .4rem 0 0; }
        .more a { display: inline-block; min-height: 44px; min-width: 44px; padding: .65rem .5rem; }
        a { color: #0d47a1; }
        footer { color: #888; font-size: .8rem; margin: 2rem 0 1rem; }
        label.check input { width: auto; margin-right: .4rem; }
        table { width: 100%; border-collapse: collapse; background: #fff; }
        th, td { border: 1px solid #ccc; padding: .4rem; text-align: left; font-size: .95rem; }
        #fund-step button { margin-top: .5rem; }
        @media print { body { background: #fff; } main { max-width: none; } footer, .screen-only { display: none; } h1 { color: #000; } }
        """
}
