// Minimal charts in plain SVG/CSS: the dashboard needs bars and columns, not a charting library.
// Each chart has a text equivalent (a table or labels) so the numbers are readable without the picture.

export function BarList({ data, label, format = String }: { data: { key: string; value: number }[]; label: string; format?: (n: number) => string }) {
  const max = Math.max(1, ...data.map((d) => d.value));
  if (data.length === 0) return <p className="muted">No data yet.</p>;
  return (
    <ul className="barlist" aria-label={label}>
      {data.map((d) => (
        <li key={d.key}>
          <span className="barlist-label">{d.key}</span>
          <span className="barlist-track" aria-hidden="true">
            <span className="barlist-bar" style={{ width: `${(d.value / max) * 100}%` }} />
          </span>
          <span className="barlist-value">{format(d.value)}</span>
        </li>
      ))}
    </ul>
  );
}

export function ColumnChart({ data, label }: { data: { key: string; value: number; secondary?: number }[]; label: string }) {
  if (data.length === 0) return <p className="muted">No data yet.</p>;
  const max = Math.max(1, ...data.map((d) => Math.max(d.value, d.secondary ?? 0)));
  const width = 100 / data.length;
  return (
    <figure className="columns">
      <svg viewBox="0 0 100 50" preserveAspectRatio="none" role="img" aria-label={label}>
        {data.map((d, i) => {
          const h = (d.value / max) * 46;
          const h2 = ((d.secondary ?? 0) / max) * 46;
          return (
            <g key={d.key}>
              <rect x={i * width + width * 0.15} y={50 - h} width={width * 0.35} height={h} className="col-primary" />
              {d.secondary !== undefined && <rect x={i * width + width * 0.5} y={50 - h2} width={width * 0.35} height={h2} className="col-secondary" />}
            </g>
          );
        })}
      </svg>
      <figcaption className="columns-axis" aria-hidden="true">
        {data.map((d) => (
          <span key={d.key} style={{ width: `${width}%` }}>
            {d.key}
          </span>
        ))}
      </figcaption>
      <table className="visually-hidden">
        <caption>{label}</caption>
        <tbody>
          {data.map((d) => (
            <tr key={d.key}>
              <th scope="row">{d.key}</th>
              <td>{d.value}</td>
              {d.secondary !== undefined && <td>{d.secondary}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
