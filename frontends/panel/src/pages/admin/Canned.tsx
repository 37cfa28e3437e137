import { useCallback } from 'react';
import { PageHeader } from '../../components/common';
import { TextItemEditor } from '../../components/Editor';
import { useDesk } from '../../desk';

export function CannedPage() {
  const { api } = useDesk();
  const load = useCallback(() => api.listCanned(), [api]);
  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Canned responses" />
      <TextItemEditor
        noun="canned response"
        load={load}
        save={(item) => api.saveCanned(item)}
        remove={(id) => api.deleteCanned(id)}
        bodyHelp="Placeholders filled in when an agent inserts it: {{customer_name}}, {{ticket_number}}, {{agent_name}}."
      />
    </section>
  );
}
